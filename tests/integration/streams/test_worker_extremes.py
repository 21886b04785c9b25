"""The worker refuses events at or past the contracts' bounds and goes on to the next one."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
from aiokafka import AIOKafkaProducer

import schemas
from producers import events as build
from rps.settings import Settings
from schemas.topics import Topics
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, records_of

NOW = dt.datetime.now(dt.UTC)
EXTREMES = ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "1899-12-31T23:59:59Z")


async def test_extreme_timestamps_are_dead_lettered_and_the_next_claim_is_accepted(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """Claims verified in year 1 at +23:59, in 9999 at -23:59 and before 1900 are dead-lettered
    as invalid; the worker stays up and accepts the valid claim sent after them."""
    topics = Topics(worker_settings.topic_prefix)
    workers()
    resident = str(uuid.uuid4())
    event = build.verified(
        source="urn:gss:E08000012",
        resident=resident,
        attribute="email",
        value="someone@example.org",
        assurance="low",
        method="self_declared",
        verified_at=NOW - dt.timedelta(hours=1),
        now=NOW,
    )
    document = orjson.loads(schemas.encode(event))
    producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
    await producer.start()
    try:
        for n, stamp in enumerate(EXTREMES):
            document["id"], document["data"]["verified_at"] = f"extreme-{n}", stamp
            await producer.send_and_wait(
                topics.attributes, orjson.dumps(document), key=resident.encode()
            )
    finally:
        await producer.stop()
    good = await (await publish_as("urn:gss:E08000012")).publish_attribute(
        resident=resident,
        attribute="email",
        value="someone@example.org",
        assurance="low",
        method="self_declared",
        verified_at=NOW - dt.timedelta(hours=1),
    )
    audit = await audit_until(
        worker_settings,
        lambda records: good.event_id in {r.data.event_id for r in records},
        workers,
    )
    assert any(r.data.event_id == good.event_id and r.data.decision == "accepted" for r in audit)
    dead = await records_of(worker_settings, topics.deadletter, at_least=len(EXTREMES))
    assert [dict(r.headers)["rps.dlq.reason"].decode() for r in dead] == ["invalid_event"] * 3
    workers.check()
