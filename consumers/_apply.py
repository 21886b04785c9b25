"""The subscriber's apply rules, free of any database: deliveries in, verdicts out.

Every local reference is bound to the first resident (pseudonym) it was
delivered for; a delivery for another resident under it is a conflict, kept
aside and never applied (:func:`bound_elsewhere`).

Per local reference and attribute an authority holds at most one value, stamped
with the version of the hub decision that set it, and remembers (a tombstone)
the version at which a value was removed. A delivery is applied only when its
version is newer than both, so the state reached is the state of the newest
delivery per key, whatever order the deliveries arrive in and however often
each is repeated. Two decisions never share a version for one resident and
authority; if they did, the first to arrive would stand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a delivered value came from: the claim, its publisher and how it was verified."""

    claim_id: str
    source: str
    assurance: str
    method: str
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class Update:
    """A ``profile.updated`` delivery; ``value_json`` is None when no value stands any more."""

    event_id: str
    subject: str
    decision_id: str
    version: int
    local_reference: str
    attribute: str
    value_json: str | None
    provenance: Provenance | None


@dataclass(frozen=True, slots=True)
class Ending:
    """A ``consent.ended`` delivery: stop holding these attributes of this resident."""

    event_id: str
    subject: str
    decision_id: str
    version: int
    local_reference: str
    attributes: tuple[str, ...]
    reason: str


Delivery = Update | Ending


class Outcome(StrEnum):
    """What applying one delivery did; recorded in history (except ``DUPLICATE``)."""

    APPLIED = "applied"  # a value was set
    CLEARED = "cleared"  # no value stands any more: the current value was removed
    STALE = "stale"  # a newer decision already stands for this key
    DELETED = "deleted"  # consent ended: values deleted
    RETAINED = "retained"  # consent ended: values kept until the retention deadline
    ENDED = "ended"  # consent ended: nothing was held to remove
    DUPLICATE = "duplicate"  # this decision was applied before: nothing changed
    CONFLICT = "conflict"  # its reference is bound to another resident: kept aside, not applied


class KeyAction(StrEnum):
    """What a consent ending does to one held value."""

    REMOVE = "remove"  # held value older than the ending
    KEEP = "keep"  # held value newer than the ending (a later consent and update)
    NONE = "none"  # nothing held


def bound_elsewhere(bound_to: str | None, delivery: Delivery) -> bool:
    """Whether the delivery's local reference already belongs to another resident.

    The first delivery under a reference binds it to the delivery's subject (the
    resident's pairwise pseudonym at this authority), for good: a second
    resident who gives the same reference can never overwrite or delete the
    first one's record. Its deliveries are kept aside as conflicts instead.
    """
    return bound_to is not None and bound_to != delivery.subject


def ack_status(outcome: Outcome) -> str:
    """The status an acknowledgement reports: ``conflict`` for a delivery kept aside."""
    return "conflict" if outcome is Outcome.CONFLICT else "applied"


def judge_update(held: int | None, removed: int | None, update: Update) -> Outcome:
    """Apply, clear or ignore an update, given the held and removed versions of its key."""
    newest = max(v for v in (held, removed, -1) if v is not None)
    if update.version <= newest:
        return Outcome.STALE
    return Outcome.CLEARED if update.value_json is None else Outcome.APPLIED


def judge_ending(held: int | None, ending: Ending) -> KeyAction:
    """Whether a consent ending removes the value held for one of its attributes."""
    if held is None:
        return KeyAction.NONE
    return KeyAction.REMOVE if held < ending.version else KeyAction.KEEP


def ending_outcome(actions: list[KeyAction], *, retain: bool) -> Outcome:
    """The one outcome history records for a consent ending across its attributes."""
    if KeyAction.REMOVE not in actions:
        return Outcome.ENDED
    return Outcome.RETAINED if retain else Outcome.DELETED
