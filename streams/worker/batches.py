"""Records gathered into the producer's own batches, one open batch per topic partition.

The worker sends a stage's outputs together, so instead of one ``send`` per
record (a future, an accumulator lookup and a completion each) it fills one
aiokafka ``BatchBuilder`` per topic partition and submits each when it is full
or when the stage is done. Records of one partition stay in the order they
were added; a submitted batch is closed first, so nothing else joins it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field

from streams.worker.ports import Delivered, Outlet, ProducerBatch


@dataclass(slots=True)
class Sent:
    """A submitted batch: where it went, how many records, and its acknowledgement."""

    topic: str
    partition: int
    count: int
    ack: Awaitable[Delivered]


@dataclass(slots=True)
class Batches:
    """Open batches per (topic, partition), and every batch submitted so far."""

    outlet: Outlet
    sent: list[Sent] = field(default_factory=list)
    _open: dict[tuple[str, int], ProducerBatch] = field(default_factory=dict)

    async def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> int:
        """Add a record (to ``partition``, or where its key belongs); the partition."""
        if partition is None:
            partition = await self.outlet.partition(topic, key)
        where = (topic, partition)
        batch = self._open.get(where)
        if batch is None:
            batch = self._open[where] = self.outlet.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=headers or []) is None:
            await self.submit(topic, partition)
            batch = self._open[where] = self.outlet.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers or []) is None:
                raise ValueError(f"a record for {topic} is larger than a producer batch")
        return partition

    async def submit(self, topic: str, partition: int) -> Sent | None:
        """Send the open batch of one topic partition, if it holds anything."""
        batch = self._open.pop((topic, partition), None)
        if batch is None or not batch.record_count():
            return None
        batch.close()
        ack = await self.outlet.send_batch(batch, topic, partition)
        sent = Sent(topic, partition, batch.record_count(), ack)
        self.sent.append(sent)
        return sent

    def latest(self, topic: str, partition: int) -> Sent | None:
        """The last batch submitted to one topic partition, if any."""
        return next(
            (s for s in reversed(self.sent) if (s.topic, s.partition) == (topic, partition)), None
        )

    async def submit_all(self) -> list[Sent]:
        """Send every open batch; every batch submitted since this object was made."""
        for topic, partition in list(self._open):
            await self.submit(topic, partition)
        return self.sent
