"""Fixtures for the worker's integration tests: real ``rps worker`` processes on a test's topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import schemas
from cli.spawn import start_worker, stop_worker
from producers import Publisher
from rps.settings import Settings
from schemas.topics import Topics
from tests.conftest import read_records

AUTHORITIES = ("E08000012", "E08000015", "urn:org:dwp", "urn:org:dvla")


@pytest.fixture
def worker_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings with a private state directory and a quick expiry sweep."""
    return settings.model_copy(
        update={"state_dir": tmp_path / "state", "expiry_tick_seconds": 0.5, "partitions": 4}
    )


class Workers:
    """The test's ``rps worker`` processes: start more, and fail fast if one died."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.processes: list[Any] = []

    def __call__(self) -> Any:
        n = len(self.processes)
        process = start_worker(
            self.settings, self.logs / f"worker-{n}.log", RPS_WORKER_NAME=f"w{n}"
        )
        self.processes.append(process)
        return process

    def check(self) -> None:
        """Raise with the worker's log tail when a worker exited on its own."""
        for n, process in enumerate(self.processes):
            if process.poll() is not None and not getattr(process, "stopped", False):
                tail = (self.logs / f"worker-{n}.log").read_text()[-3000:]
                raise AssertionError(f"worker {n} exited with {process.returncode}:\n{tail}")

    def stop(self, process: Any, *, kill: bool = False) -> None:
        process.stopped = True
        stop_worker(process, kill=kill)


@pytest.fixture
def workers(worker_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    """``workers()`` launches another ``rps worker``; all are stopped after the test."""
    running = Workers(worker_settings, tmp_path)
    yield running
    for process in running.processes:
        stop_worker(process)


PublishAs = Callable[[str], Awaitable[Publisher]]


@pytest.fixture
async def publish_as(worker_settings: Settings) -> AsyncIterator[PublishAs]:
    """``await publish_as("urn:gss:E08000012")``: a started publisher bound to that source."""
    started: dict[str, Publisher] = {}

    async def get(source: str) -> Publisher:
        if source not in started:
            publisher = Publisher(worker_settings, source=source)
            await publisher.start()
            started[source] = publisher
        return started[source]

    yield get
    for publisher in started.values():
        await publisher.close()


async def records_of(
    settings: Settings, topic: str, at_least: int = 0, wait_seconds: float = 60.0
) -> list[Any]:
    """Every record of ``topic``, waiting for the topic to exist and for ``at_least`` records."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await read_records(
                settings,
                topic,
                at_least=at_least,
                wait_seconds=max(0.0, deadline - time.monotonic()),
            )
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def events_of(
    settings: Settings, topic: str, at_least: int = 0, wait_seconds: float = 60.0
) -> list[schemas.Event]:
    """The decoded events of a topic (deliveries or audit)."""
    records = await records_of(settings, topic, at_least, wait_seconds)
    return [schemas.decode(r.value) for r in records]


async def audit_until(
    settings: Settings,
    predicate: Callable[[list[schemas.AuditRecorded]], bool],
    workers: Workers | None = None,
    wait: float = 90,
) -> list[schemas.AuditRecorded]:
    """Read the audit topic until ``predicate`` holds (or time runs out), and return it."""
    topic = Topics(settings.topic_prefix).audit
    deadline = time.monotonic() + wait
    while True:
        if workers is not None:
            workers.check()
        records = [
            e for e in await events_of(settings, topic) if isinstance(e, schemas.AuditRecorded)
        ]
        if predicate(records) or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.5)
