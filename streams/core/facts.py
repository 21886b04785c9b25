"""The facts the core folds: plain, frozen values decoded from inbound events.

Levels are ranks (0 = low, 1 = medium, 2 = high, 3 = very_high); authorities
are ids (``E08000012``, ``urn:org:dwp``); a claim's ``source`` is the id of the
authority that published it. ``digest`` fingerprints an event's content so a
reused id with different content can be told from an honest redelivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.core.catalogue import LEVELS

Stamp = tuple[datetime, str]
"""An ordering key: (time, event id). Ties on time are broken by id, so the order is total."""


def level_rank(name: str) -> int:
    """The rank of an assurance level name."""
    return LEVELS.index(name)


@dataclass(frozen=True, slots=True)
class Claim:
    """A verified value for one attribute of one resident, as one publisher reported it."""

    id: str
    resident: str
    attribute: str
    value: Any
    level: int
    source: str
    method: str
    verified_at: datetime
    digest: str

    @property
    def stamp(self) -> Stamp:
        return (self.verified_at, self.id)


@dataclass(frozen=True, slots=True)
class Retraction:
    """A publisher withdrawing one of its own earlier claims."""

    id: str
    resident: str
    claim_id: str
    attribute: str
    source: str
    reason: str
    issued_at: datetime
    digest: str


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    """The resident allowing one authority to see some attributes, under its own reference."""

    id: str
    resident: str
    authority: str
    attributes: frozenset[str]
    purpose: str
    local_reference: str
    expires_at: datetime | None
    issued_at: datetime
    digest: str
    source: str = ""

    @property
    def stamp(self) -> Stamp:
        return (self.issued_at, self.id)


@dataclass(frozen=True, slots=True)
class ConsentWithdrawal:
    """The resident withdrawing consent from one authority, for some attributes or all."""

    id: str
    resident: str
    authority: str
    attributes: frozenset[str]  # {ALL_ATTRIBUTES} for all
    issued_at: datetime
    digest: str
    source: str = ""

    @property
    def stamp(self) -> Stamp:
        return (self.issued_at, self.id)


@dataclass(frozen=True, slots=True)
class Reevaluate:
    """A control instruction: look at this resident again (consent expiry, new subscription).

    It changes no lattice state; it lets the gate see the passage of time or a
    new subscription and emit what follows from them.
    """

    id: str
    resident: str
    reason: str


@dataclass(frozen=True, slots=True)
class Erase:
    """An operator's instruction: forget this resident (UK GDPR article 17).

    ``reason`` is a code (``resident_request``, ``retention_schedule``...), never free text.
    """

    id: str
    resident: str
    reason: str


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """An authority starting, changing or stopping its subscription to one attribute."""

    id: str
    authority: str
    attribute: str
    minimum_level: int
    active: bool
    issued_at: datetime

    @property
    def stamp(self) -> Stamp:
        return (self.issued_at, self.id)


Fact = Claim | Retraction | ConsentGrant | ConsentWithdrawal
"""What a resident's lattice state is made of."""

Input = Fact | Reevaluate | Erase
"""What the per-resident fold accepts."""
