"""A resident's profile as the core decides over it, and what a decision yields.

A profile is the resident's lattice state (``merge``) plus what each authority
holds as the hub last told it; ``view`` is what each authority should hold,
computed from the state alone, and ``next_expiry`` when a consent in use runs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from streams.core.consent import consented
from streams.core.merge import EMPTY, ResidentState, best_claim
from streams.core.outputs import AuditEntry, Delivery, Ending
from streams.core.subscriptions import Directory


@dataclass(frozen=True, slots=True)
class Holding:
    """What one authority holds for a resident: its reference, consented attributes, claim ids."""

    local_reference: str
    consented: frozenset[str] = frozenset()
    values: Mapping[str, str | None] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.consented and not self.values


@dataclass(frozen=True, slots=True)
class Profile:
    """One resident: the lattice state, the authorities' holdings, and decisions taken so far."""

    resident: str
    state: ResidentState = EMPTY
    holdings: Mapping[str, Holding] = field(default_factory=dict)
    sequence: int = 0
    erased: frozenset[str] = frozenset()
    """Ids of the inputs an erasure dropped (and of the erasures): seen again, they change
    nothing, so a redelivery cannot bring an erased value back. Ids only, no values."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The new profile and everything to emit: endings first, then deliveries, then audit.

    Endings precede deliveries because a consent under a new local reference
    ends the old reference before the values are sent under the new one.
    """

    profile: Profile
    audit: tuple[AuditEntry, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    endings: tuple[Ending, ...] = ()
    rejected: str | None = None  # a reason when the input must also go to dead letter


def next_expiry(profile: Profile) -> datetime | None:
    """When this resident must next be looked at again: the earliest expiry of a consent in use."""
    times = [
        grant.expires_at
        for authority, grant in profile.state.grants.items()
        if grant.expires_at is not None
        and (holding := profile.holdings.get(authority)) is not None
        and holding.consented
    ]
    return min(times, default=None)


def view(profile: Profile, directory: Directory, now: datetime) -> dict[str, dict[str, str | None]]:
    """What each authority should hold now, computed from the state alone (for tests and replay)."""
    result: dict[str, dict[str, str | None]] = {}
    for authority in sorted(set(profile.state.grants) | set(profile.holdings)):
        allowed = consented(profile.state, authority, now)
        values: dict[str, str | None] = {}
        for attribute in sorted(allowed):
            minimum = directory.minimum_level(authority, attribute)
            if minimum is None:
                continue
            target = best_claim(profile.state, attribute, minimum, exclude_source=authority)
            if target is not None:
                values[attribute] = target.id
        if values:
            result[authority] = values
    return result
