"""Rebuild resident state from the inbound topics and compare it with the live table.

The rebuild folds every inbound record with the same core the worker uses
(``streams.core.fold``); the live state is the latest value per resident on
the worker's changelog topic. Because the merge rule is a semilattice, the two
must be equal whatever order the records were read in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import schemas
from rps.reading import read_to_end
from rps.settings import Settings
from rps.topics import Topics
from streams import codec
from streams.app import faust_id
from streams.core import EMPTY, Fact, Profile, ResidentState, SubscriptionChange, fold


def changelog_topic(settings: Settings) -> str:
    """The worker's profile table changelog."""
    return f"{faust_id(settings)}-profiles-changelog"


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """States folded from the inbound topics, and how many records were read."""

    states: dict[str, ResidentState]
    events: int
    rejected: int


async def rebuild(settings: Settings) -> Rebuilt:
    """Fold every valid inbound record into a fresh state per resident."""
    topics = Topics(settings.topic_prefix)
    facts: dict[str, list[Fact]] = defaultdict(list)
    events = rejected = 0
    for topic in (topics.attributes, topics.consents):
        for record in await read_to_end(settings, topic):
            events += 1
            try:
                fact = codec.decode_inbound(record.value, record.headers or ())
            except schemas.InvalidEvent:
                rejected += 1
                continue
            if (
                isinstance(fact, SubscriptionChange)
                or (record.key or b"") != fact.resident.encode()
            ):
                rejected += 1
                continue
            facts[fact.resident].append(fact)  # type: ignore[arg-type]
    states: dict[str, ResidentState] = {}
    for resident, items in facts.items():
        state = EMPTY
        for fact in items:
            if fact.id in state.seen and state.seen[fact.id] != fact.digest:
                continue  # an id reused for other content was refused live too
            state = fold(state, fact)
        states[resident] = state
    return Rebuilt(states, events, rejected)


async def live(settings: Settings) -> dict[str, Profile]:
    """The latest profile per resident on the worker's changelog."""
    latest: dict[bytes, bytes | None] = {}
    for record in await read_to_end(settings, changelog_topic(settings)):
        latest[record.key] = record.value
    return {key.decode(): codec.decode_profile(value) for key, value in latest.items() if value}


def differences(rebuilt: dict[str, ResidentState], current: dict[str, Profile]) -> list[str]:
    """Residents whose rebuilt state differs from the live one (ids only)."""
    residents = set(rebuilt) | set(current)
    return sorted(
        r
        for r in residents
        if codec.state_digest(rebuilt.get(r, EMPTY))
        != codec.state_digest(current[r].state if r in current else EMPTY)
    )
