"""Kafka helpers for the benchmarks: send records fast (or at a pace), and tell when a
consumer group has finished and when its last output was written.

A pipeline is done with a batch when its group's committed offsets reach the
end of its input topics; since every output is acknowledged before its input
is committed, the latest timestamp on the output topics is then the moment
the last output was written. Timestamps are the producers' create times, taken
on this one machine, so they compare with ``time.time()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import GroupCoordinatorNotAvailableError

import infra
from rps.reading import partitions_of
from rps.settings import Settings
from schemas.topics import TopicSpec
from tests.perf.workload import Record


async def create(settings: Settings, names: Sequence[str], *, compacted: bool = False) -> None:
    """Create extra topics (the passthrough's sink, a changelog) with the settings' partitions."""
    await infra.ensure_specs(
        settings,
        [
            TopicSpec(name, "compact" if compacted else "delete", False, "benchmark topic")
            for name in names
        ],
    )


async def send(
    settings: Settings, records: Iterable[Record], *, rate: float | None = None
) -> dict[str, int]:
    """Send every record (at ``rate`` per second when given); event id -> create time (ms)."""
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await producer.start()
    acks: list[tuple[str, asyncio.Future[object]]] = []
    try:
        started = time.perf_counter()
        for n, record in enumerate(records):
            if rate is not None:
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            ack = await producer.send(record.topic, record.value, key=record.key)
            acks.append((record.event_id, ack))
            if n % 500 == 0:
                await asyncio.sleep(0)
        await producer.flush()
        return {event_id: (await ack).timestamp for event_id, ack in acks}  # type: ignore[attr-defined]
    finally:
        await producer.stop()


async def send_pairs(settings: Settings, topic: str, pairs: Iterable[tuple[bytes, bytes]]) -> int:
    """Send (key, value) pairs to ``topic`` as fast as the broker takes them; how many."""
    producer = AIOKafkaProducer(
        acks="all", linger_ms=20, max_batch_size=512 * 1024, **settings.kafka_client_options()
    )
    await producer.start()
    count = 0
    try:
        pending: list[asyncio.Future[object]] = []
        for key, value in pairs:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


async def ends(settings: Settings, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topics``."""
    partitions = [tp for topic in topics for tp in await partitions_of(settings, topic)]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(**settings.kafka_client_options())
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def total(settings: Settings, topics: Sequence[str]) -> int:
    """How many records ``topics`` hold (they all start empty)."""
    return sum((await ends(settings, topics)).values())


async def caught_up(settings: Settings, group: str, topics: Sequence[str]) -> bool:
    """Whether ``group`` has committed every record of ``topics``."""
    targets = await ends(settings, topics)
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    except GroupCoordinatorNotAvailableError:
        return False  # a fresh broker creates its offsets topic on first use
    finally:
        await admin.close()
    return all(
        end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in targets.items()
    )


async def wait_caught_up(
    settings: Settings,
    group: str,
    topics: Sequence[str],
    alive: Callable[[], None],
    *,
    limit: float = 3600,
) -> None:
    """Wait until ``group`` has committed all of ``topics``; ``alive`` raises if it died."""
    deadline = time.monotonic() + limit
    while not await caught_up(settings, group, topics):
        alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"group {group} did not catch up within {limit:.0f} s")
        await asyncio.sleep(0.5)


async def assignment(
    settings: Settings, group: str, topics: Sequence[str]
) -> dict[str, list[TopicPartition]] | None:
    """Each member's partitions of ``topics`` (by member id) while ``group`` is stable; ``None``
    while it rebalances or has no coordinator yet."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    except GroupCoordinatorNotAvailableError:
        return None
    finally:
        await admin.close()
    groups = [g for response in described for g in response.to_object()["groups"]]
    if len(groups) != 1 or groups[0]["state"] != "Stable":
        return None
    held: dict[str, list[TopicPartition]] = {}
    for member in groups[0]["members"]:
        if not member["member_assignment"]:
            return None  # joined, not yet given its share
        given = ConsumerProtocolMemberAssignment.decode(member["member_assignment"])
        held[member["member_id"]] = sorted(tp for tp in given.partitions() if tp.topic in topics)
    return held


async def wait_assigned(
    settings: Settings,
    group: str,
    topics: Sequence[str],
    members: int,
    alive: Callable[[], None],
    *,
    limit: float = 3600,
) -> dict[str, list[TopicPartition]]:
    """Wait until ``group`` is stable with ``members`` members, each holding partitions of
    ``topics``; each member's partitions."""
    deadline = time.monotonic() + limit
    while True:
        held = await assignment(settings, group, topics)
        if held is not None and len(held) == members and all(held.values()):
            return held
        alive()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"group {group} did not share out among {members} within {limit:.0f} s"
            )
        await asyncio.sleep(0.5)


async def last_timestamp(settings: Settings, topics: Sequence[str]) -> float:
    """The latest create time (seconds) of the last record of any partition of ``topics``."""
    last = await ends(settings, topics)
    filled = [tp for tp, end in last.items() if end > 0]
    if not filled:
        return 0.0
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_options())
    await consumer.start()
    try:
        consumer.assign(filled)
        latest = 0
        for tp in filled:
            consumer.seek(tp, last[tp] - 1)
            record = await consumer.getone(tp)
            latest = max(latest, record.timestamp)
        return latest / 1000
    finally:
        await consumer.stop()


async def delete_prefixed(settings: Settings, prefix: str) -> int:
    """Delete every topic whose name starts with ``prefix`` (a run's own); how many."""
    names = await topics_named(settings, prefix)
    if names:
        admin = AIOKafkaAdminClient(**settings.kafka_client_options())
        await admin.start()
        try:
            await admin.delete_topics(names)
        finally:
            await admin.close()
    return len(names)


async def topics_named(settings: Settings, prefix: str) -> list[str]:
    """Every topic whose name starts with ``prefix``."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(prefix))
    finally:
        await admin.close()
