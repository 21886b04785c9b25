"""What the core decides to emit: deliveries, consent endings and audit entries.

Every output carries the id of the decision that caused it (stable for a given
input, so a reprocessed input yields the same ids) and a version that grows
with every decision about the resident, so a subscriber that applies by id and
version never applies one twice nor lets an older one overwrite a newer one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from streams.core.facts import Claim, SubscriptionChange

_DECISIONS = uuid.UUID("6f1c1a52-52a4-4c1e-9d5e-0b3f5b7c2a10")


def decision_id(cause_id: str, kind: str, authority: str = "", attribute: str = "") -> str:
    """A decision id derived from what caused it, so reprocessing yields the same id."""
    return str(uuid.uuid5(_DECISIONS, f"{cause_id}|{kind}|{authority}|{attribute}"))


class AuditDecision(StrEnum):
    """The kinds of record on the audit topic."""

    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    RETRACTED = "retracted"
    DELIVERED = "delivered"
    WITHHELD = "withheld"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_ENDED = "consent_ended"
    ERASED = "erased"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decision, with its reason. Ids, names and levels only: never a value."""

    decision: AuditDecision
    resident: str  # the record's subject: a resident, or the authority of a subscription change
    event_id: str
    event_kind: str
    event_source: str
    reason: str | None = None
    attribute: str | None = None
    authority: str | None = None
    claim_id: str | None = None
    level: int | None = None
    decision_id: str | None = None
    version: int | None = None
    signed_with: str | None = None  # the key that proved the input's origin
    vouched_by: str | None = None  # the gateway that vouched for its publisher


@dataclass(frozen=True, slots=True)
class Delivery:
    """Send an authority the value that now stands for one attribute (None: no value stands)."""

    decision_id: str
    resident: str
    authority: str
    local_reference: str
    attribute: str
    claim: Claim | None
    version: int


@dataclass(frozen=True, slots=True)
class Ending:
    """Tell an authority its consent ended: stop using, delete per its retention policy."""

    decision_id: str
    resident: str
    authority: str
    local_reference: str
    attributes: tuple[str, ...]
    reason: str  # "withdrawn" | "expired" | "erased"
    version: int


def rejection(
    resident: str, event_id: str, event_kind: str, event_source: str, reason: str
) -> AuditEntry:
    """The audit entry for a refused input (invalid, or an id reused for other content)."""
    return AuditEntry(
        AuditDecision.REJECTED, resident, event_id, event_kind, event_source, reason=reason
    )


def subscription_rejection(
    change: SubscriptionChange, event_source: str, reason: str
) -> AuditEntry:
    """The audit entry for a refused subscription change (unproven, or not the source's to
    make): filed under the authority the change names, with the attribute and the minimum
    level it asked for, so the authority's trail shows who tried to change what."""
    return AuditEntry(
        AuditDecision.REJECTED,
        change.authority,
        change.id,
        "SubscriptionChange",
        event_source,
        reason=reason,
        attribute=change.attribute,
        authority=change.authority,
        level=change.minimum_level,
    )
