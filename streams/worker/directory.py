"""The subscription directory every worker holds: the compacted topic read as a global table.

Each worker reads every partition of the subscriptions topic from the start
(no consumer group; the reading is a port, ``follow``, which
``rps.following.follow`` fills), folds the changes with the core's last-writer-wins rule,
and is ``ready`` once it has caught up with the end offsets it saw at start.
After that, each change that widens what an authority may receive (a new
attribute, a lower minimum level) is handed to ``on_widened`` so the worker
can ask the affected residents to be re-evaluated (the backfill).

Given a registry (trust enforced), a change enters the directory only when it
is admitted (``streams.worker.trust``): signed by the source it names, and that
source's role allows it (an authority's own subscription, or an operator's). A
refused change changes nothing; it is logged and handed to ``on_rejected`` when
a caller set one. The worker does not dead-letter or audit it from here (every
worker reads every change, at every start): its agent reads the subscriptions
topic as the group too, and the one owner of the record's partition does both
(``Processor``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Protocol

import schemas
from rps.logs import get_logger
from rps.settings import Settings
from schemas.topics import Topics
from streams.core import Directory, Input, SubscriptionChange, apply
from streams.worker import codec, trust
from streams.worker.ports import InputRecord, Registry

log = get_logger("directory")

Widened = Callable[[SubscriptionChange], Awaitable[None]]
Refused = Callable[[InputRecord, str], Awaitable[None]]
"""Told of a change that was not admitted, and why (a reason code)."""


class Poll(Protocol):
    """Records read in one poll, and whether the reader had caught up before it."""

    @property
    def records(self) -> Sequence[InputRecord]: ...
    @property
    def caught_up(self) -> bool: ...


Follow = Callable[[Settings, str], AsyncGenerator[Poll, None]]
"""Read a topic from the start and keep up with it (``rps.following.follow``)."""


def widens(before: Directory, change: SubscriptionChange) -> bool:
    """Whether a change lets its authority see more than before."""
    if not change.active:
        return False
    current = before.minimum_level(change.authority, change.attribute)
    return current is None or change.minimum_level < current


class SubscriptionDirectory:
    """A live, read-only view of every authority's subscriptions."""

    def __init__(
        self, settings: Settings, follow: Follow, registry: Registry | None = None
    ) -> None:
        self._settings = settings
        self._follow = follow
        self._registry = registry
        self.on_rejected: Refused | None = None
        self.directory = Directory()
        self.ready = asyncio.Event()
        self.on_widened: Widened | None = None
        self.on_authority: Callable[[str], Awaitable[None]] | None = None

    async def run(self) -> None:
        """Catch up, mark ready, then follow the topic until cancelled."""
        topic = Topics(self._settings.topic_prefix).subscriptions
        async with contextlib.aclosing(self._follow(self._settings, topic)) as polls:
            async for poll in polls:
                if not self.ready.is_set() and poll.caught_up:
                    self.ready.set()
                    log.info("subscriptions loaded", count=len(self.directory.rules))
                for record in poll.records:
                    await self._apply(record)

    async def _apply(self, record: InputRecord) -> None:
        if record.value is None:
            return  # a tombstone: compaction removed a key; nothing to fold
        try:
            if self._registry is None:
                change = codec.decode_inbound(record.value, record.headers or ())
            else:
                admitted = await self._admitted(record, self._registry)
                if admitted is None:
                    return
                change = admitted
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

    async def _admitted(
        self, record: InputRecord, registry: Registry
    ) -> SubscriptionChange | Input | None:
        """The record's change when admitted; None (and ``on_rejected`` told) when refused."""
        stamp = trust.record_time(round(record.timestamp * 1000))
        view = await registry.view_for(stamp)
        verdict = trust.admit_record(record.value, record.headers or (), stamp, view)
        if isinstance(verdict, trust.Rejected):
            log.warning(
                "subscription change refused",
                reason=verdict.reason,
                partition=record.partition,
                offset=record.offset,
            )
            if self.on_rejected is not None:
                await self.on_rejected(record, verdict.reason)
            return None
        return codec.to_fact(verdict[0])
