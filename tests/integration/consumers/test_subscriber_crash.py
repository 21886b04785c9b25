"""A subscriber killed between its database and its offset commit loses and repeats nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete

from consumers._database import create_engine
from consumers._runner import CRASH_EXIT_CODE
from consumers._tables import positions
from consumers.subscriber import group_id, history, holdings, subscribe
from rps.settings import Settings
from schemas import DeliveryApplied, decode
from tests.integration.consumers.conftest import KafkaIO
from tests.unit.consumers.events import AUTHORITY, SUBJECT, address, profile_updated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DELIVERIES = [
    profile_updated(1, address("Flat 1")),
    profile_updated(2, "resident@example.org", attribute="email"),
    profile_updated(3, address("Flat 3")),
]


async def _rps_subscribe(settings: Settings, db_url: str, **extra: str) -> int:
    """Run ``rps subscribe`` as its own process and return its exit code."""
    env = {
        **os.environ,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_PARTITIONS": str(settings.partitions),
        "RPS_STATE_DIR": str(settings.state_dir),
        **extra,
    }
    rps = Path(sys.executable).with_name("rps")
    process = await asyncio.create_subprocess_exec(
        str(rps), "subscribe", AUTHORITY, "--db", db_url, "--stop-at-end", env=env
    )
    return await process.wait()


async def test_a_crash_after_the_database_commit_leaves_no_duplicate(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Killed right after its first commit, then restarted: each decision once, newest held."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    await kafka_io.produce(topic, DELIVERIES, key=SUBJECT.encode())

    crashed = await _rps_subscribe(settings, backend_url, RPS_SUBSCRIBER_CRASH_AFTER_COMMIT="1")
    assert crashed == CRASH_EXIT_CODE
    applied_before = await history(backend_url)
    assert applied_before, "the database transaction committed before the crash"
    assert all(entry.acknowledged_at is None for entry in applied_before)
    assert set((await kafka_io.committed(topic, group_id(settings, AUTHORITY))).values()) == {None}

    assert await _rps_subscribe(settings, backend_url) == 0
    entries = await history(backend_url)
    assert sorted(e.version for e in entries) == [1, 2, 3]
    held = {h.attribute: h for h in await holdings(backend_url, with_values=True)}
    assert held["address"].value["lines"][0] == "Flat 3"
    assert held["email"].version == 2
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    acked = sorted(a.data.decision_id for a in acks if isinstance(a, DeliveryApplied))
    assert acked == sorted(e.decision_id for e in entries)
    committed = await kafka_io.committed(topic, group_id(settings, AUTHORITY))
    assert sum(offset or 0 for offset in committed.values()) == len(DELIVERIES)


async def test_rereading_everything_without_positions_changes_nothing(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """With the stored positions gone every record is read again, and every one is a duplicate."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    await kafka_io.produce(topic, DELIVERIES, key=SUBJECT.encode())
    await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    before = await history(backend_url)
    engine = create_engine(backend_url)
    async with engine.begin() as connection:
        await connection.execute(delete(positions))
    await engine.dispose()
    again = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert again.records == len(DELIVERIES)
    assert await history(backend_url) == before
