"""The Kafka producer every part of the hub sends with: aiokafka's, keeping track of its topics.

aiokafka refreshes metadata for the topics on its list, or for every topic while
the list is empty. A topic joins the list only when its first send finds it
unknown. So a topic the producer already knew from an all-topics refresh never
joins (Faust asks for one after creating each of its topics, so its table
changelogs are known that way); once a topic the producer did not know joins (a
council's delivery topic, created as the worker runs), refreshes cover the list
alone and the known topic drops out of the producer's metadata. A batch already
waiting for that topic's leader then asks for metadata that never names it, over
and over, until the batch expires: 20 minutes under Faust. Every flush waits for
it, so the worker's offset commits and its rebalances wait too, and the worker
sits idle with its inputs waiting. (The next send to the topic would add it
back; the stuck batch never does.)

:class:`TrackingProducer` puts each topic on the list at its first send, known
or not, so a refresh never drops a topic the producer writes to.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer


class TrackingProducer(AIOKafkaProducer):  # type: ignore[misc]
    """An :class:`~aiokafka.AIOKafkaProducer` whose metadata always covers its topics."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._tracked: set[str] = set()

    async def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        """Send as aiokafka does, after putting ``topic`` on the metadata list once."""
        await self._track(topic)
        return await super().send(topic, *args, **kwargs)

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> Any:
        """Send a ``BatchBuilder`` as aiokafka does, after putting ``topic`` on the list once."""
        await self._track(topic)
        return await super().send_batch(batch, topic, partition=partition)

    async def partition(self, topic: str, key: bytes | None) -> int:
        """The partition aiokafka's partitioner gives ``key`` on ``topic``, as ``send`` would."""
        await self._track(topic)
        await self.partitions_for(topic)  # waits for the topic's metadata, as send does
        partition: int = self._partition(topic, None, key, None, key, None)
        return partition

    async def _track(self, topic: str) -> None:
        if topic not in self._tracked:
            await self.client.add_topic(topic)
            self._tracked.add(topic)
