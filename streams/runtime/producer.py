"""The worker's way to Faust's producer: Faust sending with the tracking producer, and the
stages' batch interface on it.

``rps.producing.TrackingProducer`` (every process of the hub sends with it)
answers an aiokafka metadata fault; here Faust is made to use it, and the
stages reach aiokafka's batch interface behind Faust's producer.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as faust_kafka

from rps.producing import TrackingProducer
from streams.worker.ports import Delivered, ProducerBatch


class TrackingFaustProducer(faust_kafka.Producer):
    """Faust's producer, sending with :class:`rps.producing.TrackingProducer`: a changelog
    batch waiting on a leader the producer's metadata had dropped held every flush, so the
    worker neither committed nor finished a rebalance, and sat idle with inputs waiting."""

    @property
    def _producer_type(self) -> type[TrackingProducer]:
        return TrackingProducer


def use_tracking_producer(app: faust.App) -> None:
    """Make ``app`` send with :class:`TrackingFaustProducer` (before anything asks for
    ``app.producer``): Faust offers no setting for its producer class."""
    cast(Any, app.transport).Producer = TrackingFaustProducer


class FaustOutlet:
    """The stages' :class:`~streams.worker.ports.Outlet`: aiokafka's batch interface on
    Faust's own producer.

    Faust keeps aiokafka's producer behind a private method; this is the one place that
    reaches it."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    def _producer(self) -> TrackingProducer:
        return cast(TrackingProducer, cast(Any, self._app.producer)._ensure_producer())

    async def partition(self, topic: str, key: bytes | None) -> int:
        return await self._producer().partition(topic, key)

    def create_batch(self) -> ProducerBatch:
        return cast(ProducerBatch, self._producer().create_batch())

    async def send_batch(
        self, batch: ProducerBatch, topic: str, partition: int
    ) -> Awaitable[Delivered]:
        ack: Awaitable[Delivered] = await self._producer().send_batch(
            batch, topic, partition=partition
        )
        return ack


class FaustSend:
    """The processor's :class:`~streams.worker.ports.Send`: one record through Faust's producer."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def __call__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Awaitable[object]:
        sent: Awaitable[object] = await self._app.producer.send(
            topic, key, value, partition, None, headers
        )
        return sent
