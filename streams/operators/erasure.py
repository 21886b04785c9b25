"""Erasing a resident (UK GDPR article 17): the plan an operator checks, then the erasure.

``plan`` reads what the hub holds about the resident (the worker's live profile
on its changelog, and whether the resident has a data key) and names it: ids,
attribute names and authorities, never a value. ``erase`` refuses under a legal
hold; otherwise it sends the worker an ``Erase`` instruction on the control
topic. The worker drops the profile, appends the erasure to the facts log,
forgets the resident's data key (so nothing sealed under it, in the facts log
or in its stored profiles, opens again), sends ``consent.ended`` (reason
``erased``) to every authority holding anything and audits the erasure; the
read model forgets the resident when it reads that audit record. The key is
forgotten by the worker, not here: a worker still deciding the resident's
inputs before the instruction would otherwise make a new key for them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from rps.holds import LegalHolds
from rps.keystore import SqlKeyStore, hub_engine
from rps.producing import TrackingProducer
from rps.settings import Settings
from schemas.topics import Topics
from streams.core import Erase
from streams.operators.replay import live
from streams.worker import codec
from streams.worker.errors import StreamsError

REASONS = (
    "resident_request",
    "retention_schedule",
    "deceased_retention_ended",
    "court_order",
    "duplicate_record",
)
"""Why a resident is erased: the codes the audit records (never free text)."""


class ErasureRefused(StreamsError):
    """The erasure may not go ahead (a legal hold, an unknown reason); says why, by code."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What an erasure of one resident removes: ids and names only."""

    resident: str
    claims: tuple[tuple[str, str, str], ...] = ()  # (attribute, claim id, publisher)
    consents: tuple[str, ...] = ()  # authorities with a consent on record
    holders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # authority -> attributes
    has_key: bool = False
    hold: str | None = None  # the reason code of a legal hold, if any
    already_erased: bool = False


async def plan(settings: Settings, resident: str) -> Plan:
    """What erasing ``resident`` would remove now."""
    profiles = await live(settings)
    profile = profiles.get(resident)
    has_key = await _has_key(settings, resident)
    hold = await _hold(settings, resident)
    if profile is None:
        return Plan(resident, has_key=has_key, hold=hold)
    state = profile.state
    return Plan(
        resident,
        claims=tuple(sorted((c.attribute, c.id, c.source) for c in state.claims.values())),
        consents=tuple(sorted(state.grants)),
        holders={
            a: tuple(sorted(h.consented | set(h.values)))
            for a, h in sorted(profile.holdings.items())
            if not h.is_empty()
        },
        has_key=has_key,
        hold=hold,
        already_erased=bool(profile.erased) and not state.seen,
    )


async def _has_key(settings: Settings, resident: str) -> bool:
    keys = await SqlKeyStore.open(settings)
    try:
        return await keys.get(resident) is not None
    finally:
        await keys.close()


async def _hold(settings: Settings, resident: str) -> str | None:
    engine = hub_engine(settings.database_url.get_secret_value())
    try:
        holds = LegalHolds(engine)
        await holds.prepare()
        return await holds.reason(resident)
    finally:
        await engine.dispose()


async def erase(settings: Settings, resident: str, reason: str) -> str:
    """Tell the worker to erase the resident (it forgets the data key); the instruction's id."""
    if reason not in REASONS:
        raise ErasureRefused(f"reason must be one of {', '.join(REASONS)}")
    hold = await _hold(settings, resident)
    if hold is not None:
        raise ErasureRefused(f"the resident's data is under a legal hold ({hold})")
    item = Erase(f"erase:{uuid.uuid4().hex}", resident, reason)
    producer = TrackingProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(
            Topics(settings.topic_prefix).control, codec.encode_control(item), resident.encode()
        )
    finally:
        await producer.stop()
    return item.id
