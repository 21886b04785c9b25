"""A batch of deliveries judged in memory against the state it finds: outcomes and rows to write.

The store reads, in a few set-based queries, what a batch touches (which of its
decisions are recorded already, the bindings of its references, their held
values and tombstones). :func:`plan` then takes the deliveries one after
another by the rules of ``consumers._apply``, each seeing the effect of those
before it exactly as it would see it in the database, and gathers what the
batch changes: rows to insert, keys whose value or tombstone is replaced or
removed, history values to blank. The store writes that with a statement or
two per table (``consumers._sql_unit``) instead of several per delivery. The
rows are those of ``consumers._tables``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consumers._apply import (
    Delivery,
    Ending,
    KeyAction,
    Outcome,
    Update,
    bound_elsewhere,
    ending_outcome,
    judge_ending,
    judge_update,
)

Key = tuple[str, str]
"""A local reference and an attribute: one held value, one tombstone."""

Row = dict[str, Any]

_PROVENANCE = ("claim_id", "source", "assurance", "method", "verified_at")


@dataclass(frozen=True, slots=True)
class Held:
    """A value held for a key: the version that set it, and whether a retention deadline runs."""

    version: int
    retained: bool = False


@dataclass(slots=True)
class Found:
    """What the database holds for a batch's decisions and references before it is applied."""

    seen: set[str] = field(default_factory=set)
    """Decision ids of the batch already recorded in history."""
    bound: dict[str, str] = field(default_factory=dict)
    """Local reference -> the subject (pseudonym) it is bound to."""
    held: dict[Key, Held] = field(default_factory=dict)
    removed: dict[Key, int] = field(default_factory=dict)
    """Key -> the version of its tombstone."""


@dataclass(slots=True)
class Writes:
    """What applying a batch changes, table by table, and each delivery's outcome in order."""

    outcomes: list[Outcome] = field(default_factory=list)
    bindings: list[Row] = field(default_factory=list)
    conflicts: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    values: dict[Key, Row | None] = field(default_factory=dict)
    """Keys whose held value is set (the new row, replacing any) or removed (None)."""
    retained: set[Key] = field(default_factory=set)
    """Keys whose stored value starts its retention period (its row is otherwise unchanged)."""
    tombstones: dict[Key, Row | None] = field(default_factory=dict)
    """Keys whose tombstone is set (the new row, replacing any) or removed (None)."""
    forgotten: dict[Key, int] = field(default_factory=dict)
    """Key -> blank the values history stored before the batch kept for versions below this."""


def plan(
    deliveries: Sequence[Delivery], found: Found, now: datetime, retention: timedelta | None
) -> Writes:
    """Apply ``deliveries`` in order to ``found`` (which is updated as they go): the writes."""
    planner = _Planner(found, now, retention)
    for delivery in deliveries:
        planner.writes.outcomes.append(planner.apply(delivery))
    return planner.writes


class _Planner:
    """One batch's deliveries applied in memory, in order."""

    def __init__(self, found: Found, now: datetime, retention: timedelta | None) -> None:
        self._state = found
        self._now = now
        self._retention = retention
        self.writes = Writes()
        self._recorded: defaultdict[Key, list[Row]] = defaultdict(list)  # history, by key

    def apply(self, delivery: Delivery) -> Outcome:
        state = self._state
        if delivery.decision_id in state.seen:
            return Outcome.DUPLICATE
        state.seen.add(delivery.decision_id)
        bound_to = state.bound.get(delivery.local_reference)
        if bound_elsewhere(bound_to, delivery):
            return self._set_aside(delivery, str(bound_to))
        if isinstance(delivery, Update):
            if bound_to is None:
                self._bind(delivery)
            return self._apply_update(delivery)
        return self._apply_ending(delivery)

    def _bind(self, delivery: Update) -> None:
        self._state.bound[delivery.local_reference] = delivery.subject
        self.writes.bindings.append(
            {
                "local_reference": delivery.local_reference,
                "subject": delivery.subject,
                "decision_id": delivery.decision_id,
                "bound_at": self._now,
            }
        )

    def _apply_update(self, delivery: Update) -> Outcome:
        key = (delivery.local_reference, delivery.attribute)
        held = self._state.held.get(key)
        outcome = judge_update(
            held.version if held else None, self._state.removed.get(key), delivery
        )
        provenance = _provenance(delivery)
        if outcome is Outcome.APPLIED:
            self._state.held[key] = Held(delivery.version)
            self.writes.values[key] = {
                "local_reference": key[0],
                "attribute": key[1],
                "value_json": delivery.value_json,
                "version": delivery.version,
                "decision_id": delivery.decision_id,
                "applied_at": self._now,
                "retain_until": None,
                **provenance,
            }
            self.writes.retained.discard(key)
            if self._state.removed.pop(key, None) is not None:
                self.writes.tombstones[key] = None
        elif outcome is Outcome.CLEARED:
            self._remove(key)
            self._tombstone(key, delivery, "no_value")
        value_json = delivery.value_json if outcome is not Outcome.STALE else None
        self._record(delivery, outcome, delivery.attribute, value_json, provenance)
        return outcome

    def _apply_ending(self, delivery: Ending) -> Outcome:
        actions = []
        for attribute in delivery.attributes:
            key = (delivery.local_reference, attribute)
            held = self._state.held.get(key)
            action = judge_ending(held.version if held else None, delivery)
            actions.append(action)
            if self._retention is None:
                if action is KeyAction.REMOVE:
                    self._remove(key)
                self._forget(key, delivery.version)
            elif action is KeyAction.REMOVE and held is not None and not held.retained:
                self._retain(key, held, self._now + self._retention)
            self._tombstone(key, delivery, delivery.reason)
        outcome = ending_outcome(actions, retain=self._retention is not None)
        self._record(delivery, outcome, ",".join(delivery.attributes), None, {})
        return outcome

    def _set_aside(self, delivery: Delivery, bound_to: str) -> Outcome:
        """Keep a delivery whose reference belongs to another resident, for the authority."""
        if isinstance(delivery, Update):
            attributes, value_json = delivery.attribute, delivery.value_json
        else:
            attributes, value_json = ",".join(delivery.attributes), None
        self.writes.conflicts.append(
            {
                "decision_id": delivery.decision_id,
                "event_id": delivery.event_id,
                "subject": delivery.subject,
                "bound_subject": bound_to,
                "kind": _kind(delivery),
                "local_reference": delivery.local_reference,
                "attributes": attributes,
                "version": delivery.version,
                "value_json": value_json,
                "recorded_at": self._now,
            }
        )
        self._record(delivery, Outcome.CONFLICT, attributes, None, {})
        return Outcome.CONFLICT

    def _remove(self, key: Key) -> None:
        if self._state.held.pop(key, None) is not None:
            self.writes.values[key] = None
            self.writes.retained.discard(key)

    def _retain(self, key: Key, held: Held, until: datetime) -> None:
        """Start the retention period of a held value (never moving one already running)."""
        self._state.held[key] = Held(held.version, retained=True)
        replaced = self.writes.values.get(key)
        if replaced is not None:  # set earlier in this batch: its new row carries the deadline
            replaced["retain_until"] = until
        else:
            self.writes.retained.add(key)

    def _forget(self, key: Key, before: int) -> None:
        """Blank the values history kept for ``key`` at versions below ``before``."""
        for row in self._recorded.get(key, ()):
            if row["version"] < before:
                row["value_json"] = None
        self.writes.forgotten[key] = max(before, self.writes.forgotten.get(key, before))

    def _tombstone(self, key: Key, delivery: Delivery, reason: str) -> None:
        """Remember the removal version, never lowering one already remembered."""
        existing = self._state.removed.get(key)
        if existing is not None and existing >= delivery.version:
            return
        self._state.removed[key] = delivery.version
        self.writes.tombstones[key] = {
            "local_reference": key[0],
            "attribute": key[1],
            "version": delivery.version,
            "decision_id": delivery.decision_id,
            "reason": reason,
            "recorded_at": self._now,
        }

    def _record(
        self,
        delivery: Delivery,
        outcome: Outcome,
        attributes: str,
        value_json: str | None,
        provenance: Row,
    ) -> None:
        row = {
            "decision_id": delivery.decision_id,
            "event_id": delivery.event_id,
            "subject": delivery.subject,
            "kind": _kind(delivery),
            "outcome": outcome.value,
            "local_reference": delivery.local_reference,
            "attributes": attributes,
            "version": delivery.version,
            "value_json": value_json,
            "reason": delivery.reason if isinstance(delivery, Ending) else None,
            "applied_at": self._now,
            **dict.fromkeys(_PROVENANCE),
            **provenance,
        }
        self.writes.history.append(row)
        self._recorded[(delivery.local_reference, attributes)].append(row)


def _kind(delivery: Delivery) -> str:
    return "updated" if isinstance(delivery, Update) else "consent_ended"


def _provenance(delivery: Update) -> Row:
    p = delivery.provenance
    if p is None:
        return dict.fromkeys(_PROVENANCE)
    return {
        "claim_id": p.claim_id,
        "source": p.source,
        "assurance": p.assurance,
        "method": p.method,
        "verified_at": p.verified_at,
    }
