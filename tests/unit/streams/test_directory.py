"""The subscription directory folds what its ``Follow`` port reads, without Kafka: ready once
caught up, widenings handed on only after that, bad records and tombstones passed over."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import pytest

import schemas
from producers import events as build
from rps.following import FollowedRecord
from rps.settings import Settings
from streams.core import SubscriptionChange
from streams.worker.directory import SubscriptionDirectory

pytestmark = pytest.mark.asyncio

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
COUNCIL = "E08000012"


@dataclass(frozen=True, slots=True)
class Poll:
    values: list[bytes | None]
    caught_up: bool

    @property
    def records(self) -> list[FollowedRecord]:
        return [
            FollowedRecord("subscriptions", 0, n, None, value, [], NOW.timestamp())
            for n, value in enumerate(self.values)
        ]


def change(attribute: str, level: str, minute: int) -> bytes:
    event = build.subscription_changed(
        source=schemas.source_of_authority(COUNCIL),
        authority=COUNCIL,
        attribute=attribute,
        minimum_assurance=level,
        active=True,
        now=NOW + dt.timedelta(minutes=minute),
    )
    return schemas.encode(event)


async def test_ready_once_caught_up_and_only_later_widenings_are_handed_on() -> None:
    """Changes read before the reader caught up fold silently; after that, a change that lets
    the authority see more is handed to ``on_widened`` and a tombstone or a bad record is
    passed over."""
    polls = [
        Poll([change("address", "high", 0)], caught_up=False),
        Poll([None, b"not an event"], caught_up=True),
        Poll([change("address", "medium", 1), change("address", "high", 2)], caught_up=True),
    ]
    topics: list[str] = []

    async def follow(settings: Settings, topic: str) -> AsyncGenerator[Poll, None]:
        topics.append(topic)
        for poll in polls:
            yield poll
        await asyncio.Event().wait()  # a real topic never ends

    directory = SubscriptionDirectory(Settings(), follow)
    widened: list[SubscriptionChange] = []
    authorities: list[str] = []

    async def on_widened(item: SubscriptionChange) -> None:
        widened.append(item)

    async def on_authority(authority: str) -> None:
        authorities.append(authority)

    directory.on_widened, directory.on_authority = on_widened, on_authority
    running = asyncio.create_task(directory.run())
    await asyncio.wait_for(directory.ready.wait(), 5)
    for _ in range(20):
        await asyncio.sleep(0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert topics == [f"{Settings().topic_prefix}.subscriptions.v1"]
    assert [(w.attribute, w.minimum_level) for w in widened] == [("address", 1)]
    assert authorities == [COUNCIL, COUNCIL, COUNCIL]
    assert directory.directory.minimum_level(COUNCIL, "address") == 2
