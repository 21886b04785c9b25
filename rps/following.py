"""Follow a whole topic from the start, without a consumer group: read it all, then keep up.

The subscription directory (worker, portal) is folded from what this yields.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from rps.settings import Settings


@dataclass(frozen=True, slots=True)
class FollowedRecord:
    """One record read (the worker's ``InputRecord``; ``timestamp`` in seconds, as Faust's)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: float


@dataclass(frozen=True, slots=True)
class Followed:
    """Records read in one poll (a tombstone's value is None), and whether the reader had
    reached the end offsets the topic had when it started, before that poll."""

    records: list[FollowedRecord]
    caught_up: bool


async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def follow(settings: Settings, topic: str) -> AsyncGenerator[Followed, None]:
    """Every record of ``topic`` from the start, then each new one, poll by poll."""
    consumer = AIOKafkaConsumer(
        topic,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
        **settings.kafka_client_options(),
    )
    await consumer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for it
            await asyncio.sleep(0.05)
        tps = sorted(consumer.assignment())
        ends = await consumer.end_offsets(tps)
        caught_up = False
        while True:
            caught_up = caught_up or await _caught_up(consumer, ends)
            batches = await consumer.getmany(timeout_ms=200)
            read = [
                FollowedRecord(
                    r.topic,
                    r.partition,
                    r.offset,
                    r.key,
                    r.value,
                    list(r.headers or ()),
                    r.timestamp / 1000,
                )
                for records in batches.values()
                for r in records
            ]
            yield Followed(read, caught_up)
    finally:
        await consumer.stop()
