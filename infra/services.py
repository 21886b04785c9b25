"""`rps infra up|down|status`: start, stop and report the local Kafka and PostgreSQL.

``up`` starts what is not running (both at once), reuses what is, waits until
each really answers, then creates the topics. ``down`` stops only what ``up``
started from the same state directory (found by pid files, checked against the
process's command line). A Kafka or PostgreSQL given by the settings as living
elsewhere is used, never started or stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra import kafka, postgres
from infra.kafka_config import KafkaPaths
from infra.kafka_jars import cached_classpath, kafka_version
from infra.topics import TopicState, ensure_topics
from rps.private import private_directory
from rps.settings import Settings, redact_url

Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Service:
    """One service as `up`, `down` or `status` found it."""

    name: str  # "kafka" or "postgres"
    state: str  # running, stopped, "no answer" (process up, not answering), external, disabled
    where: str  # bootstrap servers or database URL, never with a password
    pid: int | None = None
    started: bool = False  # by this call
    detail: str = ""
    log: Path | None = None


@dataclass(frozen=True, slots=True)
class Up:
    """What `up` did: the services, the topics, and how long it took."""

    services: list[Service]
    topics: list[TopicState] = field(default_factory=list)
    elapsed_seconds: float = 0.0


def _quiet(_message: str) -> None:
    """Report nothing."""


@contextlib.asynccontextmanager
async def _locked(settings: Settings) -> AsyncIterator[None]:
    """One `up` or `down` at a time per state directory (a test run and a shell may race)."""
    path = settings.state_dir.expanduser() / "infra.lock"
    private_directory(path.parent)
    with path.open("a") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def _kafka_up(settings: Settings, report: Report) -> Service:
    if not kafka.is_local(settings):
        return Service("kafka", "external", settings.bootstrap_servers)
    if cached_classpath(settings) is None:
        report(f"fetching Apache Kafka {kafka_version()} jars with Maven (first time only)")
    pid, started = await kafka.start(settings)
    paths = KafkaPaths.of(settings)
    return Service(
        "kafka",
        "running",
        kafka.local_address(settings),
        pid,
        started,
        f"Apache Kafka {kafka_version()}, KRaft",
        paths.log,
    )


async def _postgres_up(settings: Settings) -> Service:
    if not postgres.is_managed(settings):
        return _postgres_elsewhere(settings)
    pid, started = await postgres.start(settings)
    paths = postgres.PostgresPaths.of(settings)
    return Service(
        "postgres",
        "running",
        redact_url(postgres.local_url(settings)),
        pid,
        started,
        f"password in {paths.password}",
        paths.log,
    )


def _postgres_elsewhere(settings: Settings) -> Service:
    if not settings.manage_postgres:
        return Service("postgres", "disabled", settings.database_url_for_logs())
    return Service("postgres", "external", settings.database_url_for_logs())


async def up(settings: Settings, report: Report = _quiet) -> Up:
    """Start (or reuse) Kafka and PostgreSQL, wait until both answer, create the topics."""
    began = time.monotonic()
    async with _locked(settings):
        report("starting Kafka and PostgreSQL")
        results = await asyncio.gather(
            _kafka_up(settings, report), _postgres_up(settings), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        services = [r for r in results if isinstance(r, Service)]
        report("creating topics")
        topics = await ensure_topics(settings)
    return Up(services, topics, time.monotonic() - began)


async def down(settings: Settings, report: Report = _quiet) -> list[Service]:
    """Stop what `up` started from this state directory, and nothing else."""
    async with _locked(settings):
        report("stopping Kafka and PostgreSQL")
        kafka_pid, postgres_pid = await asyncio.gather(
            asyncio.to_thread(kafka.stop, settings), asyncio.to_thread(postgres.pg_stop, settings)
        )
    return [
        Service("kafka", "stopped", kafka.local_address(settings), kafka_pid),
        Service("postgres", "stopped", f"127.0.0.1:{settings.postgres_port}", postgres_pid),
    ]


def _state(answering: bool, pid: int | None) -> str:
    if answering:
        return "running"
    return "no answer" if pid is not None else "stopped"


async def status(settings: Settings) -> list[Service]:
    """What runs: the local services `up` manages, or where the external ones are."""
    services: list[Service] = []
    if kafka.is_local(settings):
        k = await kafka.status(settings)
        state = _state(k.running, k.pid)
        services.append(
            Service("kafka", state, k.address, k.pid, detail=f"Apache Kafka {k.version}", log=k.log)
        )
    else:
        services.append(Service("kafka", "external", settings.bootstrap_servers))
    if postgres.is_managed(settings):
        p = await postgres.status(settings)
        state = _state(p.running, p.pid)
        services.append(Service("postgres", state, p.url, p.pid, log=p.log))
    else:
        services.append(_postgres_elsewhere(settings))
    return services
