"""The subscription directory every worker holds: the compacted topic read as a global table.

Each worker reads every partition of the subscriptions topic from the start
(no consumer group), folds the changes with the core's last-writer-wins rule,
and is ``ready`` once it has caught up with the end offsets it saw at start.
After that, each change that widens what an authority may receive (a new
attribute, a lower minimum level) is handed to ``on_widened`` so the worker
can ask the affected residents to be re-evaluated (the backfill).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer

import schemas
from rps.logs import get_logger
from rps.settings import Settings
from schemas.topics import Topics
from streams import codec
from streams.core import Directory, SubscriptionChange, apply

log = get_logger("directory")

Widened = Callable[[SubscriptionChange], Awaitable[None]]


def widens(before: Directory, change: SubscriptionChange) -> bool:
    """Whether a change lets its authority see more than before."""
    if not change.active:
        return False
    current = before.minimum_level(change.authority, change.attribute)
    return current is None or change.minimum_level < current


async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[Any, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


class SubscriptionDirectory:
    """A live, read-only view of every authority's subscriptions."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.directory = Directory()
        self.ready = asyncio.Event()
        self.on_widened: Widened | None = None
        self.on_authority: Callable[[str], Awaitable[None]] | None = None

    async def run(self) -> None:
        """Catch up, mark ready, then follow the topic until cancelled."""
        topic = Topics(self._settings.topic_prefix).subscriptions
        consumer = AIOKafkaConsumer(
            topic,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
            **self._settings.kafka_client_options(),
        )
        await consumer.start()
        try:
            while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for it
                await asyncio.sleep(0.05)
            tps = sorted(consumer.assignment())
            ends = await consumer.end_offsets(tps)
            while True:
                if not self.ready.is_set() and await _caught_up(consumer, ends):
                    self.ready.set()
                    log.info("subscriptions loaded", count=len(self.directory.rules))
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        await self._apply(record.value)
        finally:
            await consumer.stop()

    async def _apply(self, value: bytes | None) -> None:
        if value is None:
            return  # a tombstone: compaction removed a key; nothing to fold
        try:
            change = codec.decode_inbound(value)
        except schemas.InvalidEvent as error:
            log.warning("invalid subscription change ignored", event_id=error.event_id)
            return
        if not isinstance(change, SubscriptionChange):
            log.warning("non-subscription event on the subscriptions topic ignored")
            return
        before = self.directory
        self.directory = apply(before, change)
        if self.directory is before:
            return
        if self.on_authority is not None and change.active:
            await self.on_authority(change.authority)
        if self.ready.is_set() and self.on_widened is not None and widens(before, change):
            await self.on_widened(change)
