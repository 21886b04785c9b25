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
from schemas.registry import KeyRecorded, PublisherRegistered, RegistryView, Role
from schemas.signing import SigningKey, sign_value
from streams.core import SubscriptionChange
from streams.worker.directory import SubscriptionDirectory
from streams.worker.ports import InputRecord

pytestmark = pytest.mark.asyncio

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
COUNCIL = "E08000012"
LIVERPOOL = "urn:gss:E08000012"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


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


class Registry:
    """A registry port holding Liverpool's key, caught up for any stamp."""

    def __init__(self, key: SigningKey) -> None:
        self.view = RegistryView().with_records(
            [
                PublisherRegistered(
                    source=LIVERPOOL, role=Role.LOCAL_AUTHORITY, registered_at=T0, registered_by="o"
                ),
                KeyRecorded(
                    source=LIVERPOOL,
                    key_id=key.key_id,
                    public_key=key.public_key(),
                    added_at=T0,
                    changed_by="o",
                ),
            ]
        )

    async def view_for(self, record_timestamp: dt.datetime) -> RegistryView:
        return self.view.caught_up(record_timestamp)


async def test_with_a_registry_only_admitted_changes_enter_and_refusals_are_handed_on() -> None:
    """Enforcing trust, the authority's own signed change enters the directory; a change
    Liverpool signs for Wirral, and an unsigned one, are refused with their reasons and leave
    the directory as it was."""
    key = SigningKey.generate(f"{LIVERPOOL}#a")

    def signed(authority: str, attribute: str, minute: int, *, sign: bool = True) -> bytes:
        event = build.subscription_changed(
            source=LIVERPOOL,
            authority=authority,
            attribute=attribute,
            minimum_assurance="medium",
            active=True,
            now=NOW + dt.timedelta(minutes=minute),
        )
        value = schemas.encode(event)
        return sign_value(value, key) if sign else value

    polls = [
        Poll(
            [
                signed(COUNCIL, "address", 0),
                signed("E08000015", "email", 1),
                signed(COUNCIL, "email", 2, sign=False),
            ],
            caught_up=True,
        )
    ]

    async def follow(settings: Settings, topic: str) -> AsyncGenerator[Poll, None]:
        for poll in polls:
            yield poll
        await asyncio.Event().wait()

    directory = SubscriptionDirectory(Settings(), follow, Registry(key))
    refused: list[tuple[int, str]] = []

    async def on_rejected(record: InputRecord, reason: str) -> None:
        refused.append((record.offset, reason))

    directory.on_rejected = on_rejected
    running = asyncio.create_task(directory.run())
    await asyncio.wait_for(directory.ready.wait(), 5)
    for _ in range(20):
        await asyncio.sleep(0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert refused == [(1, "not_own_subscription"), (2, "unsigned")]
    assert directory.directory.minimum_level(COUNCIL, "address") == 1
    assert directory.directory.minimum_level("E08000015", "email") is None
    assert directory.directory.minimum_level(COUNCIL, "email") is None
