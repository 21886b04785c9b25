"""The subscriber against the real broker: from the delivery topic to the authority's tables."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import pytest

from consumers.errors import TransientFailure
from consumers.subscriber import history, holdings, subscribe
from rps.reading import partitions_of
from rps.settings import Settings
from schemas import DeliveryApplied, decode
from tests.integration.consumers.conftest import KafkaIO
from tests.unit.consumers.events import AUTHORITY, SUBJECT, address, consent_ended, profile_updated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KEY = SUBJECT.encode()


async def _deliver(kafka_io: KafkaIO, *values: bytes) -> str:
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    await kafka_io.produce(topic, values, key=KEY)
    return topic


async def test_deliveries_reach_the_authoritys_table_and_are_acknowledged(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Published updates land as current values with provenance, each acknowledged once."""
    await _deliver(
        kafka_io,
        profile_updated(1, address("Flat 2")),
        profile_updated(2, "resident@example.org", attribute="email"),
    )
    stats = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert (stats.records, stats.written, stats.dead_lettered) == (2, 2, 0)
    held = {h.attribute: h for h in await holdings(backend_url, with_values=True)}
    assert held["email"].value == "resident@example.org"
    assert held["address"].source == "urn:gss:E08000015"
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    assert all(isinstance(a, DeliveryApplied) and a.subject == SUBJECT for a in acks)
    assert sorted(a.data.decision_id for a in acks if isinstance(a, DeliveryApplied)) == [
        h.decision_id for h in await history(backend_url)
    ]


async def test_each_batch_is_acknowledged_once_while_the_next_is_applied(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """In batches of two, each batch's acknowledgements go out as the next one is applied;
    at the end every decision is acknowledged exactly once and marked so in history."""
    await _deliver(
        kafka_io,
        *[profile_updated(v, f"r{v}@example.org", attribute="email") for v in range(1, 12)],
    )
    small = settings.model_copy(update={"subscriber_batch_size": 2})
    stats = await subscribe(small, AUTHORITY, backend_url, stop_at_end=True)
    assert (stats.records, stats.written) == (11, 11)
    assert stats.batches >= 6  # two at most to a batch
    entries = await history(backend_url)
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    acked = Counter(a.data.decision_id for a in acks if isinstance(a, DeliveryApplied))
    assert acked == Counter(e.decision_id for e in entries)
    assert len(acked) == 11
    assert all(e.acknowledged_at is not None for e in entries)


async def test_redelivery_and_out_of_order_delivery_leave_the_newest_value(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Version 3, then 1, then 3 again, then 2: version 3 stands and history has no duplicate."""
    newest = profile_updated(3, address("Flat 3"))
    await _deliver(
        kafka_io,
        newest,
        profile_updated(1, address("Flat 1")),
        newest,
        profile_updated(2, address("Flat 2")),
    )
    stats = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert stats.records == 4
    (held,) = await holdings(backend_url, with_values=True)
    assert (held.version, held.value["lines"][0]) == (3, "Flat 3")
    entries = await history(backend_url)
    assert sorted((e.version, e.outcome) for e in entries) == [
        (1, "stale"),
        (2, "stale"),
        (3, "applied"),
    ]


async def test_consent_ended_removes_the_data(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """After consent.ended the resident's values for those attributes are gone; history says so."""
    await _deliver(
        kafka_io,
        profile_updated(1, address("Flat 2")),
        profile_updated(2, "+447700900123", attribute="phone"),
        consent_ended(3, ["address"]),
    )
    await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert [h.attribute for h in await holdings(backend_url)] == ["phone"]
    ended = (await history(backend_url))[-1]
    assert (ended.kind, ended.outcome, ended.attributes) == (
        "consent_ended",
        "deleted",
        ("address",),
    )


async def test_a_malformed_delivery_goes_to_dead_letter_and_the_subscriber_continues(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Bad bytes are dead-lettered with their origin and reason; the next delivery is applied."""
    topic = await _deliver(kafka_io, profile_updated(1, address("Flat 1")))
    bad = b'{"specversion":"1.0","id":"x","data":{"value":"PLANTED-SECRET"}}'
    await kafka_io.produce(topic, [bad], key=KEY, headers=[("trace", b"t-1")])
    await kafka_io.produce(topic, [profile_updated(2, address("Flat 2"))], key=KEY)
    stats = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert (stats.written, stats.dead_lettered) == (2, 1)
    (held,) = await holdings(backend_url, with_values=True)
    assert held.version == 2
    (dead,) = await kafka_io.read_all(kafka_io.topics.deadletter)
    headers = dict(dead.headers)
    assert (dead.value, dead.key) == (bad, KEY)
    assert headers["trace"] == b"t-1"
    assert headers["rps.dlq.topic"] == topic.encode()
    assert headers["rps.dlq.offset"] == b"1"
    assert (
        headers["rps.dlq.partition"] == str(held_partition(await kafka_io.read_all(topic))).encode()
    )
    assert headers["rps.dlq.reason"].startswith(b"invalid:")
    assert b"PLANTED" not in headers["rps.dlq.reason"]


def held_partition(records: list[object]) -> int:
    """The one partition the test's records went to (all share one key)."""
    (partition,) = {r.partition for r in records}  # type: ignore[attr-defined]
    return int(partition)


async def test_a_restart_resumes_from_the_stored_position(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """A second run reads only what arrived since the first; nothing is applied twice."""
    topic = await _deliver(kafka_io, profile_updated(1, address("Flat 1")))
    first = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    await kafka_io.produce(topic, [profile_updated(2, address("Flat 2"))], key=KEY)
    second = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert (first.records, second.records) == (1, 1)
    assert [e.version for e in await history(backend_url)] == [1, 2]


async def test_a_database_that_stays_away_ends_the_subscriber_after_bounded_retries(
    settings: Settings, kafka_io: KafkaIO
) -> None:
    """With PostgreSQL unreachable the subscriber retries a bounded number of times, then fails."""
    await kafka_io.ready(AUTHORITY)
    impatient = settings.model_copy(
        update={"consumer_db_attempts": 2, "consumer_db_backoff_seconds": 0.01}
    )
    with pytest.raises(TransientFailure):
        await subscribe(
            impatient,
            AUTHORITY,
            "postgresql+asyncpg://rps:pw@127.0.0.1:9/nowhere",
            stop_at_end=True,
        )


async def test_a_subscriber_started_before_its_topic_exists_receives_what_comes_later(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Started before any delivery to its authority, the subscriber still applies the first."""
    running = asyncio.create_task(subscribe(settings, AUTHORITY, backend_url))
    try:
        topic = kafka_io.topics.deliveries(AUTHORITY)
        for _ in range(600):
            if await partitions_of(settings, topic):
                break
            await asyncio.sleep(0.1)
        await kafka_io.produce(topic, [profile_updated(1, address("Flat 9"))], key=KEY)
        acks: list[Any] = []
        for _ in range(600):  # the subscriber acknowledges once its transaction committed
            acks = await kafka_io.read_all(kafka_io.topics.acknowledgements)
            if acks or running.done():
                break
            await asyncio.sleep(0.1)
        assert len(acks) == 1
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert [h.attribute for h in await holdings(backend_url)] == ["address"]
