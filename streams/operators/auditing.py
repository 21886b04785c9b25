"""What operators and auditors read back: the audit chain verified, one resident's history.

``verify_trail`` walks every partition of the audit topic (or a copy of it) and
reports, per partition, how many records it holds and the first place its chain
breaks (``streams.worker.audit_chain``). ``history`` gathers every decision about one
resident in time order, each matched to the acknowledgement (if any) of the
authority it was delivered to; given an authority, the records filed under it (the
subscription changes naming it that were refused). Both read whole topics without a consumer group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import schemas
from rps.reading import partitions_of, read_to_end
from rps.settings import Settings
from schemas.topics import Topics
from streams.worker import audit_chain
from streams.worker.audit_chain import Break, Keys, Stored


def keys_of(settings: Settings) -> Keys:
    """The signing key and the verification key ring the settings name."""
    return audit_chain.parse_keys(
        settings.audit_key_id,
        settings.audit_key.get_secret_value(),
        settings.audit_keys.get_secret_value(),
    )


@dataclass(frozen=True, slots=True)
class PartitionReport:
    """One audit partition: how many records, and where its chain first breaks."""

    partition: int
    records: int
    first_break: Break | None


async def verify_trail(settings: Settings, topic: str | None = None) -> list[PartitionReport]:
    """Verify the chain of every partition of the audit topic (or of ``topic``)."""
    name = topic or Topics(settings.topic_prefix).audit
    keys = keys_of(settings)
    by_partition: dict[int, list[Stored]] = defaultdict(list)
    for record in await read_to_end(settings, name):
        by_partition[record.partition].append(
            Stored(record.partition, record.offset, record.value or b"")
        )
    reports = []
    for tp in await partitions_of(settings, name):
        records = sorted(by_partition.get(tp.partition, []), key=lambda s: s.offset)
        # Retention may have deleted the oldest records: then the chain starts where they end.
        genesis = audit_chain.GENESIS if not records or records[0].offset == 0 else None
        reports.append(
            PartitionReport(tp.partition, len(records), audit_chain.verify(records, keys, genesis))
        )
    return reports


@dataclass(frozen=True, slots=True)
class Decision:
    """One line of a resident's history (ids, names, levels and reasons: no values)."""

    time: datetime
    decision: str
    event_type: str
    reported_by: str
    event_id: str
    attribute: str | None
    assurance: str | None
    authority: str | None
    reason: str | None
    decision_id: str | None
    version: int | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledged_status: str | None = None  # "conflict": kept aside, reference not matched
    signed_with: str | None = None  # the key that proved the input's origin
    vouched_by: str | None = None  # the gateway that vouched for its publisher
    refused: str | None = None
    """Why the authority's endpoint refused the delivery (``webhook_refused:http_410``)."""

    @property
    def conflict(self) -> bool:
        """The authority did not apply it: the reference is bound to another resident there."""
        return self.acknowledged_status == "conflict"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = self.time.isoformat()
        out["acknowledged_at"] = self.acknowledged_at.isoformat() if self.acknowledged_at else None
        return out


async def history(settings: Settings, subject: str) -> list[Decision]:
    """Every audit record filed under ``subject`` (a resident, or an authority for its refused
    subscription changes), oldest first, with acknowledgements matched."""
    topics = Topics(settings.topic_prefix)
    key = subject.encode()
    audit: list[schemas.AuditRecorded] = []
    seen: set[str] = set()
    for record in await read_to_end(settings, topics.audit):
        if record.key != key:
            continue
        try:
            event = schemas.decode(record.value or b"")
        except schemas.InvalidEvent:
            continue
        if isinstance(event, schemas.AuditRecorded) and event.id not in seen:
            seen.add(event.id)  # a resent record (after a crash) is the same decision
            audit.append(event)
    wanted = {e.data.decision_id for e in audit if e.data.decision_id}
    acks: dict[tuple[str, str], schemas.DeliveryApplied] = {}
    for record in await read_to_end(settings, topics.acknowledgements):
        try:
            event = schemas.decode(record.value or b"")
        except schemas.InvalidEvent:
            continue
        if isinstance(event, schemas.DeliveryApplied) and event.data.decision_id in wanted:
            acks.setdefault((event.data.decision_id, event.data.authority), event)
    refusals = await _refusals(settings, topics, wanted)
    lines = []
    for event in audit:
        d = event.data
        ack = acks.get((d.decision_id or "", d.authority or ""))
        lines.append(
            Decision(
                time=event.time,
                decision=str(d.decision),
                event_type=d.event_type,
                reported_by=d.event_source,
                event_id=d.event_id,
                attribute=d.attribute,
                assurance=str(d.assurance) if d.assurance else None,
                authority=d.authority,
                reason=d.reason,
                decision_id=d.decision_id,
                version=d.version,
                acknowledged_by=ack.source if ack else None,
                acknowledged_at=ack.data.applied_at if ack else None,
                acknowledged_status=ack.data.status if ack else None,
                signed_with=d.signed_with,
                vouched_by=d.vouched_by,
                refused=refusals.get((d.decision_id or "", d.authority or "")),
            )
        )
    lines.sort(key=lambda line: line.time)  # stable: records of one decision keep their order
    return lines


async def _refusals(
    settings: Settings, topics: Topics, wanted: set[str]
) -> dict[tuple[str, str], str]:
    """Deliveries an authority's endpoint refused (dead-lettered by ``rps webhooks``), by
    (decision id, authority): the reason, which names the HTTP status."""
    found: dict[tuple[str, str], str] = {}
    for record in await read_to_end(settings, topics.deadletter):
        reason = dict(record.headers).get("rps.dlq.reason", b"").decode("utf-8", "replace")
        if not reason.startswith("webhook_refused:"):
            continue
        try:
            event = schemas.decode(record.value or b"")
        except schemas.InvalidEvent:
            continue
        if not isinstance(event, schemas.ProfileUpdated | schemas.ConsentEnded):
            continue
        if event.data.decision_id in wanted:
            found.setdefault((event.data.decision_id, event.data.authority), reason)
    return found
