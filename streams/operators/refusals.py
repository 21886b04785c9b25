"""Replay's account of refused subscription changes: each judged again, its audit record
derived again, and looked for in the live audit trail as the worker wrote it.

The worker's agent judges every record of the subscriptions topic with
``streams.worker.trust.admit_record`` and audits a refused change with
``streams.worker.rejections.refused_change`` (the core's ``subscription_rejection``) on
the audit partition of the record's own partition. :func:`check` calls the same two
functions on each record, with the registry view replay judges by, and looks the record
up by its stable id (``audit_records.audit_id``) among the records filed under the
authority in that audit partition; it must be there with the same content (its time and
chain aside). Only the partitions that should hold a refusal are read, so a replay with
no refused change reads no audit record.

The check runs one way: a refusal replay finds must be in the trail. A refused change that
compaction has since removed from the subscriptions topic cannot be judged again, so an
audit record without a change behind it is not a difference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import schemas
from rps.reading import read_to_end
from rps.settings import Settings
from schemas.registry import RegistryView, fresh_enough
from schemas.topics import Topics
from streams.core import AuditEntry
from streams.worker import audit_records, rejections, trust

_SAME_REFUSAL = frozenset({"unknown_key", "key_not_yet_valid"})
"""Reasons a live worker and a later replay may give the one refusal (docs/trust.md: a key
the live view did not hold yet is ``key_not_yet_valid`` to a later view)."""


@dataclass(frozen=True, slots=True)
class Refusals:
    """What replay found of the refused subscription changes."""

    refused: int = 0
    """Subscription changes replay refused."""
    missing: tuple[str, ...] = ()
    """``partition:offset`` (of the subscriptions topic) of each refused change whose audit
    record the live trail lacks, or holds with other content."""
    unchecked: int = 0
    """Refusals that cannot be checked: older than the oldest record the audit partition
    still holds (retention), or stamped later than the registry view replay holds allows."""

    @property
    def audited(self) -> int:
        """Refusals found in the live trail as replayed."""
        return self.refused - len(self.missing) - self.unchecked


@dataclass(frozen=True, slots=True)
class _Refused:
    """A refused change as replay judged it: where it was read, and its audit entry."""

    partition: int
    offset: int
    timestamp: int  # milliseconds, the broker's
    judged_fresh: bool
    entry: AuditEntry


async def check(settings: Settings, view: RegistryView, since: dt.datetime | None) -> Refusals:
    """Judge every subscription change (written at or after ``since``) with ``view`` and
    look for the audit record of each refusal in the live trail."""
    topics = Topics(settings.topic_prefix)
    grace = dt.timedelta(seconds=settings.registry_grace_seconds)
    start = None if since is None else since.timestamp() * 1000
    refused: list[_Refused] = []
    for record in await read_to_end(settings, topics.subscriptions):
        if start is not None and record.timestamp < start:
            continue
        stamp = trust.record_time(record.timestamp)
        entry = refusal_entry(record, stamp, view)
        if entry is not None:
            fresh = fresh_enough(view, stamp, grace)
            refused.append(
                _Refused(record.partition, record.offset, record.timestamp, fresh, entry)
            )
    if not refused:
        return Refusals()
    live, held_from = await _live(settings, topics, refused)
    missing: list[str] = []
    unchecked = 0
    for item in refused:
        found = live.get(audit_records.audit_id(item.entry))
        if found is not None and same_record(found, item.entry):
            continue
        if not item.judged_fresh or item.timestamp < held_from.get(item.partition, -1):
            unchecked += 1
        else:
            missing.append(f"{item.partition}:{item.offset}")
    return Refusals(len(refused), tuple(missing), unchecked)


def refusal_entry(record: Any, stamp: dt.datetime, view: RegistryView) -> AuditEntry | None:
    """The audit entry of a refused subscription change; None for an admitted one, a
    tombstone, or a record that is no event (the worker dead-letters those, unaudited)."""
    if record.value is None:
        return None
    try:
        verdict = trust.admit_record(record.value, record.headers or (), stamp, view)
    except schemas.InvalidEvent:
        return None
    return rejections.refused_change(verdict) if isinstance(verdict, trust.Rejected) else None


async def _live(
    settings: Settings, topics: Topics, refused: list[_Refused]
) -> tuple[dict[str, schemas.AuditRecorded], dict[int, int]]:
    """The audit records filed under the refusals' authorities in their partitions, by id,
    and, per partition whose oldest records retention deleted, the time it holds from."""
    keys = {item.entry.resident.encode() for item in refused}
    live: dict[str, schemas.AuditRecorded] = {}
    held_from: dict[int, int] = {}
    seen: set[int] = set()
    for record in await read_to_end(settings, topics.audit, {i.partition for i in refused}):
        if record.partition not in seen:  # read oldest first: its first record is the oldest
            seen.add(record.partition)
            if record.offset > 0:
                held_from[record.partition] = record.timestamp
        if record.key not in keys:
            continue
        try:
            event = schemas.decode(record.value or b"")
        except schemas.InvalidEvent:
            continue
        if isinstance(event, schemas.AuditRecorded):
            live.setdefault(event.id, event)
    return live, held_from


def same_record(live: schemas.AuditRecorded, entry: AuditEntry) -> bool:
    """Whether a live audit record is the one ``entry`` makes (its time and chain aside)."""
    wanted = audit_records.audit_event(entry, live.time)
    held = live.data.model_copy(update={"chain": None})
    if {held.reason, wanted.data.reason} == _SAME_REFUSAL:
        held = held.model_copy(update={"reason": wanted.data.reason})
    return live.subject == wanted.subject and held == wanted.data
