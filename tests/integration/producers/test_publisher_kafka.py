"""The publishing SDK against the real broker: what it returns is what reached the topics."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from collections import defaultdict

import pytest

from producers import NotPublishable, Publisher, PublishFailed, SourceMismatch
from producers import events as build
from rps.settings import Settings
from schemas import PROFILE_UPDATED, Address, AttributeRetracted, AttributeVerified, decode
from schemas.samples import example_lines
from schemas.topics import Topics
from tests.conftest import ReadTopic
from tests.unit.producers.support import EARLIER, OTHER_SOURCE, RESIDENT, SOURCE, address

APP = "urn:org:rps-resident-app"


async def test_a_verified_attribute_reaches_the_attributes_topic_keyed_by_resident(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """publish_attribute returns Kafka's receipt, and that very record holds the event."""
    async with Publisher(settings, source=SOURCE) as publisher:
        receipt = await publisher.publish_attribute(
            RESIDENT, "address", address(), "medium", "council_tax_record", EARLIER
        )
    (record,) = await read_topic(Topics(settings.topic_prefix).attributes, at_least=1)
    event = decode(record.value)
    assert isinstance(event, AttributeVerified)
    assert (record.key, record.partition, record.offset) == (
        RESIDENT.encode(),
        receipt.partition,
        receipt.offset,
    )
    assert isinstance(event.data.value, Address)
    assert (event.id, event.source, event.data.value.postcode) == (
        receipt.event_id,
        SOURCE,
        "L1 8JQ",
    )


async def test_retraction_consent_and_subscription_go_to_their_topics(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """Each typed form lands on its own topic with its own key."""
    topics = Topics(settings.topic_prefix)
    async with Publisher(settings, source=SOURCE) as council:
        claim = await council.publish_attribute(
            RESIDENT, "email", "a@example.com", "low", "self_asserted", EARLIER
        )
        retraction = await council.retract(RESIDENT, claim.event_id, "email", "mistyped")
        await council.change_subscription("E08000012", "address", "medium")
    async with Publisher(settings, source=APP) as app:
        await app.grant_consent(RESIDENT, "E08000012", ["address"], "council_tax", "LCC-CT-1")
        await app.withdraw_consent(RESIDENT, "E08000012")
    attributes = await read_topic(topics.attributes, at_least=2)
    consents = await read_topic(topics.consents, at_least=2)
    (subscription,) = await read_topic(topics.subscriptions, at_least=1)
    retracted = decode(attributes[-1].value)
    assert isinstance(retracted, AttributeRetracted)
    assert (retracted.id, retracted.data.claim_id) == (retraction.event_id, claim.event_id)
    assert [decode(r.value).type for r in consents] == [
        "uk.gov.rps.consent.granted.v1",
        "uk.gov.rps.consent.withdrawn.v1",
    ]
    assert {r.key for r in attributes + consents} == {RESIDENT.encode()}
    assert subscription.key == b"E08000012|address"


async def test_publish_many_keeps_every_event_and_each_residents_order(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """600 events through a window of 16 in flight: all arrive, receipts in order, per-key order."""
    residents = [str(uuid.uuid4()) for _ in range(20)]
    now = dt.datetime.now(dt.UTC)
    events = [
        build.verified(
            source=SOURCE,
            resident=residents[n % len(residents)],
            attribute="email",
            value=f"r{n}@example.com",
            assurance="low",
            method="self_asserted",
            verified_at=EARLIER,
            now=now,
            event_id=f"many-{n:04d}",
        )
        for n in range(600)
    ]
    seen: list[str] = []
    async with Publisher(settings, source=SOURCE, max_in_flight=16) as publisher:
        receipts = await publisher.publish_many(
            events, on_receipt=lambda receipt: seen.append(receipt.event_id)
        )
    assert [r.event_id for r in receipts] == [e.id for e in events]
    assert sorted(seen) == sorted(e.id for e in events)
    records = await read_topic(Topics(settings.topic_prefix).attributes, at_least=600)
    by_key: dict[bytes, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key[record.key].append(decode(record.value).id)
    assert sum(len(ids) for ids in by_key.values()) == 600
    for resident, ids in by_key.items():
        assert ids == [e.id for e in events if e.subject.encode() == resident]


async def test_refused_events_never_reach_a_topic(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """An outbound type and a foreign source are refused; only the marker event arrives."""
    topics = Topics(settings.topic_prefix)
    outbound = decode(example_lines(PROFILE_UPDATED)[0])
    async with Publisher(settings, source=SOURCE) as publisher:
        with pytest.raises(NotPublishable):
            await publisher.publish(outbound)
        foreign = build.subscription_changed(
            source=OTHER_SOURCE,
            authority="E08000015",
            attribute="email",
            minimum_assurance="low",
            active=True,
            now=dt.datetime.now(dt.UTC),
        )
        with pytest.raises(SourceMismatch):
            await publisher.publish(foreign)
        marker = await publisher.change_subscription("E08000012", "email", "low")
    assert await read_topic(topics.attributes) == []
    (only,) = await read_topic(topics.subscriptions, at_least=1)
    assert decode(only.value).id == marker.event_id


async def test_close_lets_publishes_under_way_finish_then_refuses_more(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """Publishes begun before close() are acknowledged and arrive; one begun after is refused."""
    publisher = Publisher(settings, source=SOURCE)
    await publisher.start()
    tasks = [
        asyncio.create_task(
            publisher.publish_attribute(
                RESIDENT, "phone", f"+4477009{n:05d}", "low", "sms_one_time_code", EARLIER
            )
        )
        for n in range(50)
    ]
    await asyncio.sleep(0)  # every task has begun its publish
    await publisher.close()
    receipts = await asyncio.gather(*tasks)
    with pytest.raises(PublishFailed, match="closed"):
        await publisher.publish_attribute(RESIDENT, "email", "a@example.com", "low", "x", EARLIER)
    records = await read_topic(Topics(settings.topic_prefix).attributes, at_least=50)
    assert {decode(r.value).id for r in records} == {r.event_id for r in receipts}
    assert len(records) == 50


async def test_an_unreachable_kafka_raises_publish_failed(settings: Settings) -> None:
    """With nothing listening on the bootstrap port, start() fails with PublishFailed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = settings.model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{port}", "producer_send_timeout_seconds": 2.0}
    )
    publisher = Publisher(nowhere, source=SOURCE)
    with pytest.raises(PublishFailed, match="same event id"):
        await publisher.start()
    await publisher.close()


async def test_a_missing_topic_is_named_in_the_failure(settings: Settings) -> None:
    """Publishing under a prefix whose topics were never created says which topic is missing."""
    missing = settings.model_copy(
        update={
            "topic_prefix": f"absent{uuid.uuid4().hex[:8]}",
            "producer_send_timeout_seconds": 2.0,
        }
    )
    async with Publisher(missing, source=SOURCE) as publisher:
        with pytest.raises(PublishFailed, match=r"topic absent\w+\.attributes\.v1 does not exist"):
            await publisher.publish_attribute(
                RESIDENT, "email", "a@example.com", "low", "self_asserted", EARLIER
            )
