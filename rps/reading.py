"""Read a whole topic from the start (no consumer group): for the demo, audits and replay."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

import schemas
from rps.settings import Settings


async def read_to_end(
    settings: Settings, topic: str, only: Collection[int] | None = None
) -> list[Any]:
    """Every record ``topic`` holds now (in the partitions ``only`` names, when given),
    partition by partition, oldest first within each."""
    partitions = await partitions_of(settings, topic)
    if only is not None:
        partitions = [tp for tp in partitions if tp.partition in only]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest", **settings.kafka_client_options()
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, part in batch.items():
                records.extend(part)
                if part and part[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def partitions_of(settings: Settings, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return [
        TopicPartition(topic, p["partition"])
        for p in sorted(described["partitions"], key=lambda p: p["partition"])
    ]


async def read_events(settings: Settings, topic: str) -> list[schemas.Event]:
    """Every record of ``topic`` decoded as an event (records that do not decode are skipped)."""
    events: list[schemas.Event] = []
    for record in await read_to_end(settings, topic):
        try:
            events.append(schemas.decode(record.value or b""))
        except schemas.InvalidEvent:
            continue
    return events


async def last_value(
    settings: Settings, topic: str, partition: int, wait_seconds: float = 10.0
) -> bytes | None:
    """The value of the newest record in one partition of ``topic`` (None when it is empty).

    Raises ``TimeoutError`` when the record has not arrived within ``wait_seconds``."""
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest", **settings.kafka_client_options()
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        start = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if end <= start:
            return None
        consumer.seek(tp, end - 1)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=500)
            for record in batch.get(tp, []):
                if record.offset == end - 1:
                    value: bytes | None = record.value
                    return value
            if await consumer.position(tp) >= end:
                return None  # the newest offset held no record (a transaction marker)
        raise TimeoutError(f"{topic}[{partition}]: newest record not read in {wait_seconds} s")
    finally:
        await consumer.stop()
