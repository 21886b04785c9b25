"""Reading the facts log (``<prefix>.facts.v1``) for a replay: from a time, or the start,
up to the end offsets it has when the read begins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from rps.reading import partitions_of
from rps.settings import Settings
from schemas.topics import Topics


async def facts_total(settings: Settings, since: datetime | None = None) -> int:
    """How many facts log records a replay (from ``since``) will read: for a progress bar."""
    consumer = await consumer_for(settings)
    try:
        total = 0
        for tp, (start, end) in (await offset_ranges(consumer, settings, since)).items():
            del tp
            total += max(0, end - start)
        return total
    finally:
        await consumer.stop()


async def consumer_for(settings: Settings) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **settings.kafka_client_options(),
    )
    await consumer.start()
    return consumer


async def offset_ranges(
    consumer: AIOKafkaConsumer, settings: Settings, since: datetime | None
) -> dict[TopicPartition, tuple[int, int]]:
    partitions = await partitions_of(settings, Topics(settings.topic_prefix).facts)
    if not partitions:
        return {}
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    if since is not None:
        found = await consumer.offsets_for_times(
            dict.fromkeys(partitions, int(since.timestamp() * 1000))
        )
        starts = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in partitions}
    return {tp: (starts[tp], ends[tp]) for tp in partitions}


async def scan(settings: Settings, since: datetime | None) -> AsyncIterator[list[Any]]:
    """Batches of the facts log's records, from ``since`` (or the start) to the end offsets
    now."""
    consumer = await consumer_for(settings)
    try:
        found = await offset_ranges(consumer, settings, since)
        ranges = {tp: r for tp, r in found.items() if r[1] > r[0]}
        if not ranges:
            return
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
        remaining = set(ranges)
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, part in fetched.items():
                end = ranges[tp][1]
                kept = [r for r in part if r.offset < end]
                if kept:
                    yield kept
                if part and part[-1].offset + 1 >= end:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ranges[tp][1]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
