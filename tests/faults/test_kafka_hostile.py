"""Hostile records on the inbound topics, with a real ``rps worker`` deciding.

Thousands of generated malformed and hostile records (see ``hostile.py``) are
produced raw to the attributes and consents topics, interleaved with valid
claims and consents. Afterwards: every hostile record is on the dead-letter
topic exactly once with a reason, every valid event was decided exactly once,
the worker never exited, its memory stayed bounded, no delivery carries a hub
id or a national insurance number, and no planted value reached its log.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

import schemas
from rps.settings import Settings
from schemas.topics import Topics
from tests.faults.conftest import Report, leaks, rss_kib
from tests.faults.hostile import AUTHORITY, NINO, REUSED_VALUE, Record, Scenario
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, records_of

pytestmark = pytest.mark.integration

NINO_SHAPE = re.compile(rb"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]")
RSS_BOUND_KIB = 1024 * 1024  # generous: the worker idles near 100 MiB
INPUT_DECISIONS = {"accepted", "superseded", "consent_recorded"}  # a first decision


async def produce(settings: Settings, records: list[Record]) -> list[tuple[Record, Any]]:
    """Send ``records`` in order; return each with its (topic, partition, offset) metadata."""
    topics = Topics(settings.topic_prefix)
    names = {"attributes": topics.attributes, "consents": topics.consents}
    producer = AIOKafkaProducer(
        acks="all", max_request_size=1_048_576, linger_ms=5, **settings.kafka_client_options()
    )
    await producer.start()
    try:
        futures = [
            await producer.send(names[r.topic], r.value, key=r.key, headers=r.headers or None)
            for r in records
        ]
        return list(zip(records, await asyncio.gather(*futures), strict=True))
    finally:
        await producer.stop()


async def test_hostile_records_are_dead_lettered_and_valid_ones_decided_once(
    worker_settings: Settings,
    workers: Workers,
    publish_as: PublishAs,
    hostile_run: tuple[int, int],
    report: Report,
    tmp_path: Path,
) -> None:
    """Every hostile record is dead-lettered once with a reason; valid events are decided
    exactly once; the worker lives, its RSS stays bounded, deliveries and its log stay clean."""
    seed, count = hostile_run
    topics = Topics(worker_settings.topic_prefix)
    scenario = Scenario(seed, count)
    stream = list(scenario.records())
    consents = [r for r in stream if r.kind == "valid" and r.topic == "consents"]
    rest = stream[len(consents) :]
    authority = await publish_as(schemas.source_of_authority(AUTHORITY))
    await authority.change_subscription(
        authority=AUTHORITY, attribute="email", minimum_assurance="low"
    )
    worker = workers()

    started = time.monotonic()
    await produce(worker_settings, consents)
    consent_ids = {r.event_id for r in consents}
    await audit_until(
        worker_settings,
        lambda audit: consent_ids <= {a.data.event_id for a in audit},
        workers,
        wait=180,
    )
    rss_before = rss_kib(worker.pid)
    sent = await produce(worker_settings, rest)
    hostile = {
        (
            topics.attributes if r.topic == "attributes" else topics.consents,
            m.partition,
            m.offset,
        ): r
        for r, m in sent
        if r.hostile
    }
    valid_ids = {r.event_id for r in stream if not r.hostile}
    assert len(hostile) == count

    # An id reused right after its original is taken for a redelivery of it (see the test
    # below); the rest must all be dead-lettered.
    expected = {c for c, r in hostile.items() if r.kind != "id_reused"}
    wait = 240 + count / 10
    audit = await audit_until(
        worker_settings,
        lambda audit: valid_ids <= {a.data.event_id for a in audit},
        workers,
        wait=wait,
    )
    dead = await records_of(
        worker_settings, topics.deadletter, at_least=len(expected), wait_seconds=wait
    )
    elapsed = time.monotonic() - started
    workers.check()
    rss_after = rss_kib(worker.pid)

    coordinates = Counter(
        (
            dict(r.headers)["rps.dlq.topic"].decode(),
            int(dict(r.headers)["rps.dlq.partition"]),
            int(dict(r.headers)["rps.dlq.offset"]),
        )
        for r in dead
    )
    reasons = Counter(dict(r.headers)["rps.dlq.reason"].decode() for r in dead)
    missing = [hostile[c].kind for c in expected - coordinates.keys()]
    unexpected = coordinates.keys() - hostile.keys()
    decided = Counter(  # an audit record resent byte for byte is the same decision
        a.data.event_id
        for a in {a.id: a for a in audit}.values()
        if a.data.decision in INPUT_DECISIONS and a.data.event_id in valid_ids
    )
    lost = valid_ids - decided.keys()
    twice = {i: n for i, n in decided.items() if n > 1}
    deliveries = await records_of(worker_settings, topics.deliveries(AUTHORITY))
    contents: dict[str, set[bytes]] = {}
    for record in deliveries:
        contents.setdefault(schemas.decode(record.value).id, set()).add(record.value)
    conflicting = [i for i, values in contents.items() if len(values) > 1]
    logs = [tmp_path / f"worker-{n}.log" for n in range(len(workers.processes))]
    leaked = await asyncio.to_thread(leaks, logs, [scenario.canary, NINO])
    report(
        {
            "seed": seed,
            "hostile_inputs": count,
            "hostile_by_kind": dict(scenario.kinds),
            "valid_inputs": len(valid_ids),
            "dead_lettered": sum(coordinates.values()),
            "dead_letter_reasons": dict(reasons),
            "id_reused_not_dead_lettered": len(hostile.keys() - expected - coordinates.keys()),
            "events_lost": len(lost),
            "duplicate_effects": len(twice)
            + len(conflicting)
            + sum(n - 1 for n in coordinates.values()),
            "delivery_records": len(deliveries),
            "delivery_records_resent_byte_for_byte": len(deliveries) - len(contents),
            "worker_rss_kib_before": rss_before,
            "worker_rss_kib_after": rss_after,
            "wall_seconds": round(elapsed, 1),
        }
    )
    assert not missing, f"{len(missing)} hostile records not dead-lettered: {Counter(missing)}"
    assert not unexpected, f"{len(unexpected)} dead letters for records that were valid"
    assert all(reason for reason in reasons), "a dead letter without a reason"
    assert "none" not in reasons, "a forged rps.dlq.reason header was taken for the verdict"
    assert max(coordinates.values()) == 1, "a hostile record was dead-lettered twice"
    assert not lost, f"{len(lost)} valid events were never decided"
    assert not twice, f"valid events decided more than once: {list(twice)[:5]}"
    assert contents, "the valid claims reached the subscribed authority"
    assert not conflicting, "one decision id was sent with two different contents"
    assert not any(REUSED_VALUE in v for v in (r.value or b"" for r in deliveries)), (
        "the content of a reused id reached a delivery"
    )
    for record in deliveries:
        raw = (record.key or b"") + (record.value or b"") + b"".join(v for _, v in record.headers)
        assert not NINO_SHAPE.search(raw), "a delivery carries a national insurance number"
        assert not any(r.encode() in raw for r in scenario.residents), "a delivery names a hub id"
    assert rss_after < RSS_BOUND_KIB, f"worker RSS grew to {rss_after} KiB"
    assert not leaked, f"planted values reached a log: {leaked}"


async def test_an_id_reused_right_after_its_original_is_dead_lettered(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """A claim's id reused at once with other content is dead-lettered as id_reused."""
    topics = Topics(worker_settings.topic_prefix)
    scenario = Scenario(7, 0)
    resident = scenario.residents[0]
    original = scenario.claim(resident)
    copy = dict(original, data=dict(original["data"], value=REUSED_VALUE.decode()))
    later = scenario.claim(resident)
    workers()
    await produce(
        worker_settings,
        [
            Record("attributes", resident.encode(), orjson.dumps(doc), [], "valid", doc["id"])
            for doc in (original, copy, later)
        ],
    )
    await audit_until(
        worker_settings, lambda audit: later["id"] in {a.data.event_id for a in audit}, workers
    )
    dead = await records_of(worker_settings, topics.deadletter)
    assert [dict(r.headers)["rps.dlq.reason"] for r in dead] == [b"id_reused"]
