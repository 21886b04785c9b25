"""`rps audit verify` against the real broker: a clean trail passes, every kind of tampering
(written to a copy of the trail) is caught at its partition and offset, and the chain goes on
across a worker restart, a crash and a handover."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

import schemas
from cli.spawn import start_worker, stop_worker
from rps.reading import read_events, read_to_end
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators.auditing import verify_trail
from streams.worker import audit_chain
from tests.conftest import TopicFactory
from tests.integration.operators.conftest import (
    decided,
    draw_scenario,
    publish_raw,
    rps,
    subscribe_all,
)
from tests.integration.streams.conftest import PublishAs, Workers, audit_until

Partitions = dict[int, list[bytes]]


async def _decide(settings: Settings, workers: Workers, size: int) -> set[str]:
    """Publish a drawn scenario whose ids the trail has never seen, and wait until each is
    decided (an id already in the trail would count as decided before it was read)."""
    trail = await read_events(settings, Topics(settings.topic_prefix).audit)
    seen = {e.data.event_id for e in trail if isinstance(e, schemas.AuditRecorded)}
    items = draw_scenario(size, fresh=seen)
    ids = {e.id for e in items}
    assert ids, "the draw left no event with a new id"
    await publish_raw(settings, items)
    audit = await audit_until(settings, decided(ids), workers, wait=180)
    missing = ids - {r.data.event_id for r in audit}
    assert not missing, [(e.type, e.id, e.subject) for e in items if e.id in missing]
    return ids


async def _trail(settings: Settings) -> Partitions:
    by_partition: Partitions = defaultdict(list)
    for record in await read_to_end(settings, Topics(settings.topic_prefix).audit):
        by_partition[record.partition].append(record.value)
    return by_partition


async def _copy(settings: Settings, topic: str, trail: Partitions) -> None:
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        for partition, values in trail.items():
            for value in values:
                await producer.send(topic, value, b"k", partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


def _changed(values: list[bytes], at: int) -> None:
    event = schemas.decode(values[at])
    assert isinstance(event, schemas.AuditRecorded)
    forged = event.model_copy(update={"data": event.data.model_copy(update={"reason": "forged"})})
    values[at] = schemas.encode(forged)


def _removed(values: list[bytes], at: int) -> None:
    del values[at]


def _reordered(values: list[bytes], at: int) -> None:
    values[at], values[at + 1] = values[at + 1], values[at]


def _resigned(settings: Settings) -> Callable[[list[bytes], int], None]:
    """Rewrite one record and re-link the rest of the partition, with a key the hub never had."""
    forger = audit_chain.parse_keys(settings.audit_key_id, "a-guessed-key")

    def tamper(values: list[bytes], at: int) -> None:
        _changed(values, at)
        link = audit_chain.link_of(values[at - 1]) if at else None
        tip = link.hash if link else audit_chain.GENESIS
        for n in range(at, len(values)):
            event = schemas.decode(values[n])
            assert isinstance(event, schemas.AuditRecorded)
            relinked, tip = audit_chain.chain(event, tip, forger)
            values[n] = schemas.encode(relinked)

    return tamper


async def test_a_clean_trail_verifies_and_each_kind_of_tampering_is_caught(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs, topic_factory: TopicFactory
) -> None:
    """The worker's trail is intact; copies with a changed, removed, reordered or re-signed
    record are each reported at the right partition, offset and kind (exit 1)."""
    workers()
    await subscribe_all(publish_as)
    await _decide(worker_settings, workers, 150)
    ran = await rps(worker_settings, "audit", "verify")
    assert ran.code == 0, ran.out + ran.err
    assert "audit trail intact" in ran.out
    trail = await _trail(worker_settings)
    reports = await verify_trail(worker_settings)
    assert sum(r.records for r in reports) == sum(len(v) for v in trail.values())
    assert all(r.first_break is None for r in reports)

    partition = max(trail, key=lambda p: len(trail[p]))
    values = trail[partition]
    # tamper where neither record was resent (a duplicate input settling resends an outbox)
    at = next(
        n
        for n in range(3, len(values) - 1)
        if values.count(values[n]) == 1 and values.count(values[n + 1]) == 1
    )
    cases: list[tuple[str, Callable[[list[bytes], int], None], str]] = [
        ("changed", _changed, "changed"),
        ("removed", _removed, "removed"),
        ("reordered", _reordered, "reordered"),
        ("resigned", _resigned(worker_settings), "bad_signature"),
    ]
    for name, tamper, kind in cases:
        copy = {p: list(v) for p, v in trail.items()}
        tamper(copy[partition], at)
        topic = await topic_factory(f"audit-{name}", partitions=worker_settings.partitions)
        await _copy(worker_settings, topic, copy)
        reports = await verify_trail(worker_settings, topic)
        broken = [(r.partition, r.first_break) for r in reports if r.first_break is not None]
        assert broken == [(partition, audit_chain.Break(partition, at, kind))], name  # type: ignore[arg-type]
    ran = await rps(worker_settings, "audit", "verify", "--topic", topic)
    assert ran.code == 1
    assert f"partition {partition}: " in ran.out
    assert f"BROKEN at offset {at}: bad_signature" in ran.out


@pytest.mark.parametrize(
    "how",
    [
        "restart",
        "crash",
        "handover",
    ],
)
async def test_the_chain_continues_across_a_restart_a_crash_and_a_handover(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs, how: str
) -> None:
    """A worker stopped, killed mid-decision, or replaced by another leaves one unbroken chain
    per partition: its successor links to the last record it wrote."""
    await subscribe_all(publish_as)
    if how == "crash":
        crashing = worker_settings.model_copy(
            update={"fault_crash_after": 40, "fault_crash_at": "recorded"}
        )
        log = worker_settings.state_dir / "crashing.log"
        process: Any = start_worker(crashing, log)
        try:
            items = draw_scenario(100)
            await publish_raw(worker_settings, items)
            for _ in range(600):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            assert process.returncode == 86, log.read_text()[-2000:]
        finally:
            stop_worker(process)  # never leak it, even when the assertion fails
        workers()
        audit = await audit_until(
            worker_settings, decided({e.id for e in items}), workers, wait=150
        )
        assert {e.id for e in items} <= {r.data.event_id for r in audit}
    else:
        first = workers()
        if how == "handover":
            workers()
        await _decide(worker_settings, workers, 75)
        workers.stop(first)
        if how == "restart":
            workers()
    before = sum(len(v) for v in (await _trail(worker_settings)).values())
    await _decide(worker_settings, workers, 75)
    trail = await _trail(worker_settings)
    assert sum(len(v) for v in trail.values()) > before
    reports = await verify_trail(worker_settings)
    assert [r.first_break for r in reports] == [None] * len(reports)
    for values in trail.values():  # one chain each, from the genesis: no second start
        starts = [
            v
            for v in values
            if (link := audit_chain.link_of(v)) is not None
            and link.previous_hash == audit_chain.GENESIS
        ]
        assert len({*starts}) <= 1
