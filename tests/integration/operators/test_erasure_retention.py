"""Erasure that survives replay and retention, on a broker of the test's own.

Canary values are planted for one resident (an address and an email, and a record so broken
it is dead-lettered), with another resident alongside. A real worker decides them, a
subscriber applies Wirral's deliveries into its own database and the read model reads the
hub's topics. Then the resident is erased, and every process stopped. Once the short
retention windows (set short here: the inbound topics, dead letters and deliveries keep 45 s;
the broker looks every second) have passed, no canary is readable in any byte of any file the
broker keeps (every topic's segments, the worker's changelogs, the dead letters, files being
deleted), of the hub's database (read model, key store), of Wirral's database, or of any log:
the facts log and the changelog hold the resident's facts sealed under a key that is gone (no
copy of the wrapped key is left in the hub's database file), so they no longer open. Replay
reads only the facts log: it equals live, rebuilds nothing for the erased resident, and the
other resident's state and database rows are untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

import infra
import schemas
from cli.spawn import start_worker, stop_worker
from consumers.readmodel import run_read_model
from consumers.subscriber import subscribe
from infra import kafka
from infra.kafka_config import KafkaPaths
from infra.topics import topic_config
from producers import Publisher
from rps.keystore import SqlKeyStore
from rps.reading import read_to_end
from rps.sealing import KeyForgotten, open_sealed
from rps.settings import Settings
from schemas.topics import Topics
from streams.core import EMPTY
from streams.operators import replay
from streams.runtime.names import changelog_topic
from streams.worker import entries, facts_log
from tests.integration.operators.conftest import decided, rps
from tests.integration.operators.test_erasure import (
    CANARY_EMAIL,
    CANARY_LINE,
    OTHER_LINE,
    WIRRAL,
    export_of,
    plant,
)
from tests.integration.producers.test_gateway_process import private_kafka
from tests.integration.streams.conftest import audit_until, events_of

__all__ = ["private_kafka"]

RETENTION_MS = 45_000
CANARY_POISON = "canary-dead-letter-5e1b"
CANARIES = (CANARY_EMAIL, CANARY_LINE, CANARY_POISON)
_ENVELOPE = re.compile(rb"s1\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@pytest.fixture
async def short_retention(private_kafka: Settings) -> Settings:
    """The test's own broker, started, checking retention every second, with its topics made:
    what arrives in plain text (inbound, dead letters, deliveries, acknowledgements) keeps
    45 s, the facts log and audit for ever; files of deleted segments go after 1 s."""
    settings = private_kafka.model_copy(
        update={
            "kafka_retention_check_ms": 1000,
            "inbound_retention_ms": RETENTION_MS,
            "default_retention_ms": RETENTION_MS,
            "records_retention_ms": -1,
            "topic_prefix": "erasure",
            "partitions": 2,
            "expiry_tick_seconds": 0.5,
            "seal_profiles": True,
        }
    )
    await kafka.start(settings)
    await infra.ensure_topics(settings)
    await infra.ensure_delivery_topic(settings, WIRRAL)
    await _quick_file_deletion(settings)
    return settings


async def _quick_file_deletion(settings: Settings) -> None:
    """Each topic as created, its deleted segments' files removed after 1 s (not 60 s)."""
    topics = Topics(settings.topic_prefix)
    specs = [*topics.fixed(), topics.delivery_spec(WIRRAL)]
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        await admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    spec.name,
                    configs={**topic_config(settings, spec), "file.delete.delay.ms": "1000"},
                )
                for spec in specs
            ]
        )
    finally:
        await admin.close()


def files_under(root: Path) -> Iterator[Path]:
    """Every file under ``root``: segments, indexes, files being deleted, databases, logs."""
    return (path for path in root.rglob("*") if path.is_file())


def found(files: Iterator[Path], needles: tuple[str | bytes, ...]) -> dict[str, list[str]]:
    """For each needle, the files whose bytes hold it (a file may vanish while read)."""
    hits: dict[str, list[str]] = {}
    for path in files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # a deleted segment's file went meanwhile
            continue
        for needle in needles:
            raw = needle.encode() if isinstance(needle, str) else needle
            if raw in content:
                hits.setdefault(repr(needle), []).append(str(path))
    return hits


def wrapped_key(database: Path, resident: str) -> bytes:
    """The resident's data key as the hub's database holds it, wrapped by the master key."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        (wrapped,) = connection.execute(
            "SELECT wrapped FROM rps_data_keys WHERE resident = ?", (resident,)
        ).fetchone()
    return bytes(wrapped)


async def publish_poison(settings: Settings, resident: str) -> None:
    """An address claim whose assurance level does not exist, with a canary line: it is
    dead-lettered as it came, keyed by the resident."""
    document = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "urn:gss:E08000012",
        "type": schemas.ATTRIBUTE_VERIFIED,
        "subject": resident,
        "time": "2026-01-01T00:00:00Z",
        "data": {"attribute": "address", "value": {"lines": [CANARY_POISON]}, "assurance": "x"},
    }
    producer = AIOKafkaProducer(**settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(
            Topics(settings.topic_prefix).attributes,
            orjson.dumps(document),
            key=resident.encode(),
            headers=[schemas.CONTENT_TYPE_HEADER],
        )
    finally:
        await producer.stop()


async def test_an_erased_residents_canaries_are_readable_nowhere_once_retention_has_passed(
    short_retention: Settings, tmp_path: Path
) -> None:
    """Plant, erase, let retention pass, scan every byte the broker and every database keep."""
    settings = short_retention
    topics = Topics(settings.topic_prefix)
    broker = KafkaPaths.of(settings).data
    wirral_db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    erased, other = str(uuid.uuid4()), str(uuid.uuid4())
    worker = start_worker(settings, tmp_path / "worker.log")
    publishers: dict[str, Publisher] = {}

    async def publish_as(source: str) -> Publisher:
        if source not in publishers:
            publishers[source] = Publisher(settings, source=source)
            await publishers[source].start()
        return publishers[source]

    try:
        council = await publish_as(schemas.source_of_authority(WIRRAL))
        for attribute in ("address", "email"):
            await council.change_subscription(
                authority=WIRRAL, attribute=attribute, minimum_assurance="low"
            )
        now = dt.datetime.now(dt.UTC)
        planted = await plant(publish_as, erased, CANARY_LINE, now)
        kept = await plant(publish_as, other, OTHER_LINE, now)
        await publish_poison(settings, erased)
        await audit_until(
            settings,
            lambda rs: (
                decided(set(planted) | set(kept))(rs)
                and any(r.data.decision == "rejected" and r.subject == erased for r in rs)
            ),
        )
        await events_of(settings, topics.deliveries(WIRRAL), at_least=3)
        await subscribe(settings, WIRRAL, wirral_db, stop_at_end=True)
        await run_read_model(settings, stop_at_end=True)

        # Before the erasure every canary is readable, so the scan below can see them.
        before = found(files_under(tmp_path), CANARIES)
        assert set(before) == {repr(c) for c in CANARIES}, before
        assert any(topics.attributes in path for path in before[repr(CANARY_LINE)])
        assert any(topics.deliveries(WIRRAL) in path for path in before[repr(CANARY_EMAIL)])
        assert any(topics.deadletter in path for path in before[repr(CANARY_POISON)])
        assert any(path.endswith("wirral.db") for path in before[repr(CANARY_EMAIL)])
        assert any(path.endswith("hub.db") for path in before[repr(CANARY_EMAIL)])
        wrapped = await asyncio.to_thread(wrapped_key, tmp_path / "hub.db", erased)
        assert found(files_under(tmp_path), (wrapped,))
        assert CANARY_EMAIL in str(await export_of(settings, erased))

        done = await rps(settings, "erase", erased, "--reason", "resident_request")
        assert done.code == 0, done.err
        await audit_until(
            settings,
            lambda rs: any(r.subject == erased and r.data.decision == "erased" for r in rs),
        )
        await events_of(settings, topics.deliveries(WIRRAL), at_least=4)  # consent.ended
        await subscribe(settings, WIRRAL, wirral_db, stop_at_end=True)
        await run_read_model(settings, stop_at_end=True)
    finally:
        for publisher in publishers.values():
            await publisher.close()
        stop_worker(worker)

    # The retention windows pass: the broker deletes what arrived in plain text.
    deadline = time.monotonic() + RETENTION_MS / 1000 + 90
    while found(files_under(broker), CANARIES) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(2)  # polling files: nothing to wait on but the clock
    assert found(files_under(tmp_path), (*CANARIES, wrapped)) == {}

    # What stays is sealed under a key that is gone.
    keys = await SqlKeyStore.open(settings)
    try:
        gone = await keys.get(erased)
        assert gone is None
        assert await keys.forgotten(erased)
        assert await keys.get(other) is not None
    finally:
        await keys.close()
    logged = [r for r in await read_to_end(settings, topics.facts) if r.key == erased.encode()]
    facts = [facts_log.decode(r.value) for r in logged]
    assert {f.id for f in facts if f.erasure() is None} >= set(planted)
    for fact in facts:
        if fact.erasure() is None:
            with pytest.raises(KeyForgotten):
                facts_log.opened(fact, gone)
    stored = b"".join(
        r.value or b""
        for r in await read_to_end(settings, changelog_topic(settings))
        if r.key == erased.encode() or (r.key or b"").startswith(entries.entry_key(f"{erased}|"))
    )
    envelopes = _ENVELOPE.findall(stored)
    assert envelopes  # the values the profile held, and its outbox entries, sealed
    for envelope in envelopes:
        with pytest.raises(KeyForgotten):
            open_sealed(gone, envelope.decode(), erased, "any")

    # Replay reads the facts log alone (the inbound topics are empty by now): it equals live.
    comparison = await replay.compare(settings)
    assert comparison.differing == []
    assert comparison.differing_partitions == []
    assert comparison.rebuilt.states[erased] == EMPTY
    assert comparison.rebuilt.forgotten >= len(planted)
    assert {c.id for c in comparison.rebuilt.states[other].claims.values()} == set(kept[1:])

    # The other resident is untouched: their state, their export, Wirral's rows.
    live = await replay.live(settings)
    assert len(live[other].state.claims) == 1
    assert OTHER_LINE in str(await export_of(settings, other))
    assert found(iter([tmp_path / "wirral.db"]), (OTHER_LINE,))
