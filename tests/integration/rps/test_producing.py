"""The hub's producer keeps every topic it writes to in its metadata, against the real broker.

The control case shows the aiokafka behaviour the producer works around: a batch for a topic
the producer knew before its metadata list narrowed is never sent, though the broker is well.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from rps.producing import TrackingProducer
from rps.settings import Settings
from streams.runtime.app import build
from tests.conftest import TopicFactory

LINGER_MS = 3000  # the batch waits this long before it is sent: time for the metadata to narrow


async def _delivered_after_the_list_narrows(
    producer_type: type[Any], settings: Settings, topic_factory: TopicFactory
) -> bool:
    """Send to a topic the producer knew at start, and, while that batch lingers, to a topic
    created after it started; True when the first batch reaches the broker."""
    known = await topic_factory("producing.known", partitions=1)
    producer = producer_type(linger_ms=LINGER_MS, **settings.kafka_client_options())
    await producer.start()
    try:
        # as Faust does after creating its topics: with the list empty, every topic's metadata
        await producer.client.force_metadata_update()
        later = await topic_factory("producing.later", partitions=1)  # unknown to the producer
        await (await producer.send(known, b"first", partition=0))
        lingering = await producer.send(known, b"second", partition=0)
        await producer.send(later, b"joins the list", partition=0)  # refreshed: the list alone
        try:
            await asyncio.wait_for(asyncio.shield(lingering), LINGER_MS / 1000 + 5)
        except TimeoutError:
            return False
        return True
    finally:
        await producer.send(known, b"unstuck", partition=0)  # a new send puts it back
        await asyncio.wait_for(producer.stop(), 30)


async def test_a_batch_for_a_topic_known_before_the_list_narrowed_is_sent(
    settings: Settings, topic_factory: TopicFactory
) -> None:
    assert await _delivered_after_the_list_narrows(TrackingProducer, settings, topic_factory)


async def test_the_partition_for_a_key_is_the_one_send_picks(
    settings: Settings, topic_factory: TopicFactory
) -> None:
    """``partition`` gives a key the partition a plain keyed ``send`` writes it to."""
    topic = await topic_factory("producing.keyed", partitions=4)
    producer = TrackingProducer(**settings.kafka_client_options())
    await producer.start()
    try:
        for n in range(20):
            key = f"resident-{n}".encode()
            sent = await (await producer.send(topic, b"v", key=key))
            assert await producer.partition(topic, key) == sent.partition
    finally:
        await producer.stop()


async def test_plain_aiokafka_leaves_that_batch_waiting(
    settings: Settings, topic_factory: TopicFactory
) -> None:
    """The case above provokes the fault: without the tracking, the batch is not sent."""
    assert not await _delivered_after_the_list_narrows(AIOKafkaProducer, settings, topic_factory)


async def test_the_worker_sends_with_the_tracking_producer(settings: Settings) -> None:
    producer: Any = build(settings).app.producer
    assert producer._producer_type is TrackingProducer
