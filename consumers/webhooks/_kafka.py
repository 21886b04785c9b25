"""The Kafka side of the webhook process: end offsets on assignment, commits, signals."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from rps.logs import get_logger
from rps.metrics import Health

log = get_logger("consumers.webhooks")


@dataclass
class Ends(ConsumerRebalanceListener):  # type: ignore[misc]
    """Remembers the end offsets of the partitions assigned, to know when caught up; the
    first assignment (even an empty one) meets ``health``'s ``joined``."""

    consumer: AIOKafkaConsumer
    health: Health = field(default_factory=Health)
    targets: dict[TopicPartition, int] = field(default_factory=dict)

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        for tp in revoked:
            self.targets.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        if assigned:
            self.targets.update(await self.consumer.end_offsets(list(assigned)))
        self.health.met("joined")


def on_signals(stop: asyncio.Event) -> list[signal.Signals]:
    """SIGTERM and SIGINT stop the process (handlers removed by ``release``)."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            break
        installed.append(signum)
    return installed


def release(installed: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for signum in installed:
        loop.remove_signal_handler(signum)
