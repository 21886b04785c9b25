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


async def test_a_resident_whose_state_would_pass_its_limit_is_refused_and_the_worker_lives(
    worker_settings: Settings, workers: Workers
) -> None:
    """Hundreds of claims at their longest for one resident: once the state would pass
    ``MAX_STATE_BYTES`` each further claim is dead-lettered (``state_too_large``) rather than
    stopping the worker at Kafka's record limit; another resident's claim is then accepted."""
    topics = Topics(worker_settings.topic_prefix)
    workers()
    crowded, other = str(uuid.uuid4()), str(uuid.uuid4())
    line = "\U0001f600" * 100
    claims: list[bytes] = []
    ids: set[str] = set()
    for n in range(560):  # about 1.3 MB of state: past the 1 MiB record limit without a bound
        event = build.verified(
            source="urn:gss:E08000012",
            resident=crowded,
            attribute="address",
            value={
                "uprn": str(n + 1),
                "lines": [line, line, line, line],
                "town": line,
                "postcode": "L2 2DH",
                "local_authority": "E08000012",
            },
            assurance="low",
            method="self_declared",
            verified_at=NOW - dt.timedelta(hours=1),
            now=NOW,
        )
        claims.append(schemas.encode(event))
        ids.add(event.id)
    last = build.verified(
        source="urn:gss:E08000012",
        resident=other,
        attribute="email",
        value="someone@example.org",
        assurance="low",
        method="self_declared",
        verified_at=NOW - dt.timedelta(hours=1),
        now=NOW,
    )
    producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
    await producer.start()
    try:
        for value in claims:
            await producer.send_and_wait(topics.attributes, value, key=crowded.encode())
        await producer.send_and_wait(topics.attributes, schemas.encode(last), key=other.encode())
    finally:
        await producer.stop()
    ids.add(last.id)

    def all_decided(records: list[schemas.AuditRecorded]) -> bool:
        decided = {r.data.event_id for r in records} & ids
        refusals = sum(r.data.reason == "state_too_large" for r in records)
        return last.id in decided and len(decided) + refusals >= len(ids)

    audit = await audit_until(worker_settings, all_decided, workers, wait=300)
    assert any(r.data.event_id == last.id and r.data.decision == "accepted" for r in audit)
    refused = {r.data.event_id for r in audit if r.data.reason == "state_too_large"}
    dead = await records_of(worker_settings, topics.deadletter, at_least=len(refused))
    reasons = {dict(r.headers)["rps.dlq.reason"].decode() for r in dead}
    assert reasons == {"state_too_large"}
    assert 0 < len(dead) == len(refused) < len(claims)
    workers.check()
