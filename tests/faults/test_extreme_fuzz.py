"""A fuzz run of schema-valid events at the edges of the contracts through every consumer.

Events of all nine types, drawn from ``schemas.extreme_strategies`` with a fixed
seed, are produced raw to the topic each belongs on: inbound events to the
worker's topics, deliveries to an authority's topic, audit records and
acknowledgements to the read model's. A real ``rps worker``, ``rps subscribe``
into SQLite and into PostgreSQL (two groups), and ``rps readmodel`` read them.
A valid sentinel sent last must reach each of them, and every process must
still be alive at the end; figures (count, time, dead letters by reason) are
reported. ``make faults`` runs 10,000 events (``RPS_EXTREME_COUNT``, else
``RPS_HOSTILE_COUNT``); the default suite a short seeded run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import infra
import schemas
from cli.spawn import environment
from consumers.readmodel import open_read_model
from consumers.subscriber import holdings
from producers import events as build
from rps.settings import Settings
from schemas import CONSENT_ENDED, PROFILE_UPDATED, Event
from schemas.extreme_strategies import (
    extreme_deliveries,
    extreme_events,
    extreme_inbound_events,
)
from schemas.topics import Topics
from tests.faults.conftest import RPS, Report
from tests.integration.streams.conftest import Workers, audit_until, records_of
from tests.unit.consumers.events import address, profile_updated

pytestmark = pytest.mark.integration

AUTHORITY = "E08000012"
SHORT = (11, 150)
FULL_SEED = 2026


def full_count() -> int:
    """``RPS_EXTREME_COUNT``, else ``RPS_HOSTILE_COUNT``, else 10,000."""
    return int(os.environ.get("RPS_EXTREME_COUNT", os.environ.get("RPS_HOSTILE_COUNT", "10000")))


@pytest.fixture(
    params=[
        pytest.param(SHORT, id="short"),
        pytest.param((FULL_SEED, None), id="full", marks=pytest.mark.slow),
    ]
)
def extreme_run(request: pytest.FixtureRequest) -> tuple[int, int]:
    """(seed, count) of this run: a short seeded one, or the full one."""
    drawn_seed, count = request.param
    return drawn_seed, count if count is not None else full_count()


def draw_events(drawn_seed: int, count: int) -> list[Event]:
    """``count`` events drawn with ``drawn_seed``: half inbound, 30 % this authority's
    deliveries, 20 % of any type (deliveries to others, audit records, acknowledgements).
    Each gets an id of its own (every other one 128 characters long), so the worker applies
    them rather than refusing a reused id."""
    shares = (
        (extreme_inbound_events(), count // 2),
        (extreme_deliveries(AUTHORITY), count * 3 // 10),
        (extreme_events(), count - count // 2 - count * 3 // 10),
    )
    drawn: list[Event] = []
    for n, (strategy, share) in enumerate(shares):
        drawn.extend(_draw(strategy, drawn_seed + n, share))
    return [_with_id(event, n) for n, event in enumerate(drawn)]


def _draw(strategy: st.SearchStrategy[Event], drawn_seed: int, count: int) -> list[Event]:
    drawn: list[Event] = []

    @hypothesis_settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @seed(drawn_seed)
    @given(strategy)
    def collect(event: Event) -> None:
        if len(drawn) < count:
            drawn.append(event)

    collect()
    return drawn


def _with_id(event: Event, n: int) -> Event:
    ident = str(n).rjust(128, "Z") if n % 2 else f"fuzz-{n}"
    document = event.model_dump(mode="json")
    document["id"] = ident
    if "decision_id" in document["data"] and event.type in (PROFILE_UPDATED, CONSENT_ENDED):
        document["data"]["decision_id"] = ident
    return schemas.parse(document)


def topic_of(topics: Topics, event: Event) -> str:
    kind = schemas.short_name(event.type)
    if kind.startswith("attribute."):
        return topics.attributes
    if kind.startswith(("consent.granted", "consent.withdrawn")):
        return topics.consents
    if kind.startswith("subscription."):
        return topics.subscriptions
    if kind.startswith(("profile.", "consent.ended")):
        return topics.deliveries(AUTHORITY)  # another authority's: dead-lettered as not ours
    if kind.startswith("audit."):
        return topics.audit
    return topics.acknowledgements


async def produce(settings: Settings, placed: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await producer.start()
    try:
        futures = [await producer.send(t, value, key=key) for t, key, value in placed]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def start(settings: Settings, output: Path, *arguments: str) -> asyncio.subprocess.Process:
    """``rps ARGUMENTS`` for ``settings``, its output in ``output``."""
    with output.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            RPS,
            *arguments,
            env=environment(settings),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


def _exit_code(process: Any) -> int | None:
    """A ``subprocess.Popen`` (the worker) or an asyncio process's exit code, if it exited."""
    code: int | None = process.poll() if hasattr(process, "poll") else process.returncode
    return code


async def until(
    check: Callable[[], Awaitable[bool]], processes: dict[str, Any], wait: float
) -> None:
    """Poll ``check`` until it holds; fail at once, with its output, if a process exited."""
    deadline = time.monotonic() + wait
    while True:
        for name, (process, output) in processes.items():
            if _exit_code(process) is not None:
                tail = output.read_text()[-3000:]
                pytest.fail(f"{name} exited with {process.returncode}:\n{tail}")
        try:
            if await check():
                return
        except Exception:  # the database may not exist yet; try again
            pass
        if time.monotonic() > deadline:
            pytest.fail("the sentinel never arrived")
        await asyncio.sleep(2.0)


async def test_extreme_events_leave_every_consumer_alive_and_applying(
    worker_settings: Settings,
    workers: Workers,
    postgres_url: str,
    extreme_run: tuple[int, int],
    report: Report,
    tmp_path: Path,
) -> None:
    """Thousands of schema-valid events at the bounds pass through the worker, two subscribers
    and the read model; each applies the sentinel sent after them and none exits."""
    drawn_seed, count = extreme_run
    settings = worker_settings
    topics = Topics(settings.topic_prefix)
    drawn_started = time.monotonic()
    events = draw_events(drawn_seed, count)
    drawn_seconds = time.monotonic() - drawn_started
    placed = [(topic_of(topics, e), e.subject.encode(), schemas.encode(e)) for e in events]
    await infra.ensure_delivery_topic(settings, AUTHORITY)

    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'authority.db'}"
    hub_url = settings.database_url.get_secret_value()
    workers()
    processes = {
        "worker": (workers.processes[0], tmp_path / "worker-0.log"),
    }
    for name, arguments in {
        "subscriber (SQLite)": ("subscribe", AUTHORITY, "--db", sqlite_url),
        "subscriber (PostgreSQL)": (
            "subscribe",
            AUTHORITY,
            "--db",
            postgres_url,
            "--group",
            f"{settings.topic_prefix}-pg",
        ),
        "read model": ("readmodel", "--db", hub_url),
    }.items():
        output = tmp_path / f"{name.split()[0]}-{len(processes)}.log"
        processes[name] = (await start(settings, output, *arguments), output)

    started = time.monotonic()
    await produce(settings, placed)
    resident = str(uuid.uuid4())
    claim = build.verified(
        source="urn:gss:E08000015",
        resident=resident,
        attribute="email",
        value="sentinel@example.org",
        assurance="low",
        method="self_declared",
        verified_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        now=dt.datetime.now(dt.UTC),
    )
    sentinel = profile_updated(1, address("Sentinel"), reference="SENTINEL")
    await produce(
        settings,
        [
            (topics.attributes, resident.encode(), schemas.encode(claim)),
            (topics.deliveries(AUTHORITY), b"sentinel", sentinel),
        ],
    )
    wait = 300 + count / 10

    async def worker_decided() -> bool:
        audit = await audit_until(
            settings, lambda a: claim.id in {r.data.event_id for r in a}, wait=0
        )
        return claim.id in {r.data.event_id for r in audit}

    async def held(url: str) -> bool:
        return "SENTINEL" in {h.local_reference for h in await holdings(url)}

    async def in_read_model() -> bool:
        model = await open_read_model(hub_url)
        try:
            return bool(await model.profile(resident))
        finally:
            await model.close()

    await until(worker_decided, processes, wait)
    await until(lambda: held(sqlite_url), processes, wait)
    await until(lambda: held(postgres_url), processes, wait)
    await until(in_read_model, processes, wait)
    elapsed = time.monotonic() - started
    workers.check()
    alive = {name: _exit_code(process) is None for name, (process, _) in processes.items()}

    dead = await records_of(settings, topics.deadletter)
    reasons = Counter(
        f"{dict(r.headers)['rps.dlq.topic'].decode().removeprefix(settings.topic_prefix + '.')}"
        f" {dict(r.headers)['rps.dlq.reason'].decode()}"
        for r in dead
    )
    kinds = Counter(schemas.short_name(e.type) for e in events)
    exits = {}
    for name, (process, _) in processes.items():
        if name != "worker":
            process.terminate()
            exits[name] = await process.wait()
    report(
        {
            "seed": drawn_seed,
            "events": len(events),
            "by_type": dict(kinds),
            "draw_seconds": round(drawn_seconds, 1),
            "seconds_to_sentinels": round(elapsed, 1),
            "dead_lettered": len(dead),
            "dead_lettered_by_topic_and_reason": dict(reasons),
            "alive": alive,
        }
    )
    assert all(alive.values()), alive
    assert set(exits.values()) == {0}, exits  # and each stopped cleanly when asked
    assert len(events) == count
