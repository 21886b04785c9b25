"""What the read model records, one plain frozen value per kind of event it reads.

Values are kept as JSON text; times are timezone-aware; sources are the
CloudEvents ``source`` as published (``urn:gss:E08000012``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ClaimSeen:
    """An ``attribute.verified`` event."""

    claim_id: str
    resident: str
    attribute: str
    source: str
    assurance: str
    method: str
    verified_at: datetime
    value_json: str


@dataclass(frozen=True, slots=True)
class RetractionSeen:
    """An ``attribute.retracted`` event."""

    event_id: str
    resident: str
    claim_id: str
    attribute: str
    source: str
    reason: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class GrantSeen:
    """A ``consent.granted`` event."""

    event_id: str
    resident: str
    authority: str
    attributes: tuple[str, ...]
    purpose: str
    local_reference: str
    expires_at: datetime | None
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class WithdrawalSeen:
    """A ``consent.withdrawn`` event; ``attributes`` is ``("*",)`` for all."""

    event_id: str
    resident: str
    authority: str
    attributes: tuple[str, ...]
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class AuditSeen:
    """An ``audit.recorded`` event and where it sits on the audit topic."""

    event_id: str
    subject: str
    recorded_at: datetime
    decision: str
    reason: str | None
    input_event_id: str
    event_type: str
    event_source: str
    attribute: str | None
    authority: str | None
    claim_id: str | None
    assurance: str | None
    decision_id: str | None
    version: int | None
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class AckSeen:
    """A ``delivery.applied`` event from a subscriber."""

    event_id: str
    authority: str
    decision_id: str
    local_reference: str
    applied_at: datetime
    status: str = "applied"  # or "conflict": kept aside, the reference is another resident's


@dataclass(frozen=True, slots=True)
class ErasureSeen:
    """An erasure record of the facts log: the resident's values are to be forgotten."""

    event_id: str
    resident: str
    erased_at: datetime


Fact = ClaimSeen | RetractionSeen | GrantSeen | WithdrawalSeen | AuditSeen | AckSeen | ErasureSeen
