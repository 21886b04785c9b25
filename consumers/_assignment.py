"""Where each assigned partition starts: the position the consumer's own database holds.

On every assignment the consumer seeks to the stored position (or to the
beginning when there is none), and remembers it as a floor below which no
record is applied again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from rps import metrics
from rps.logs import get_logger

log = get_logger("consumers.runner")


@dataclass
class Assignment(ConsumerRebalanceListener):  # type: ignore[misc]
    """Seeks each assigned partition to the database's position and remembers it as a floor.

    aiokafka may fetch while this listener still awaits the database, so the
    loop also drops any record below the floor: a record is never applied twice
    by this process, whatever the timing of a rebalance.
    """

    consumer: AIOKafkaConsumer
    stored: Callable[[], Awaitable[dict[tuple[str, int], int]]]
    health: metrics.Health = field(default_factory=metrics.Health)
    targets: dict[TopicPartition, int] = field(default_factory=dict)
    floor: dict[TopicPartition, int] = field(default_factory=dict)
    unsynced: set[TopicPartition] = field(default_factory=set)

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        for tp in revoked:
            self.targets.pop(tp, None)
            self.floor.pop(tp, None)
            self.unsynced.discard(tp)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        stored = await self.stored()
        for tp in assigned:
            offset = max(stored.get((tp.topic, tp.partition), 0), self.floor.get(tp, 0))
            self.floor[tp] = offset
            self.unsynced.add(tp)
            self.consumer.seek(tp, offset)  # 0 when new: retention gone -> reset to earliest
        if assigned:
            self.targets.update(await self.consumer.end_offsets(list(assigned)))
        self.health.met("joined")
        log.info("partitions assigned", count=len(assigned), partitions=sorted(map(str, assigned)))
