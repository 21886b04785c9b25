"""The read model's one translation point from Kafka records to its facts.

Claims, retractions and consents come from the facts log (``<prefix>.facts.v1``,
``streams.worker.facts_log``): a recorded fact is kept sealed here
(:class:`Sealed`) and opened with the resident's data key before it is written
(``consumers.readmodel._opening``); an erasure record is an :class:`ErasureSeen`.
The facts log is the worker's output, read by replay too: a record that is not
one is passed by (and counted). Audit records and acknowledgements have no
other reader, so one that cannot be read is a ``PoisonRecord`` (dead letter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from consumers._wire import decoded
from consumers.errors import PoisonRecord
from consumers.readmodel._facts import (
    AckSeen,
    AuditSeen,
    ClaimSeen,
    ErasureSeen,
    Fact,
    GrantSeen,
    RetractionSeen,
    WithdrawalSeen,
)
from rps.logs import get_logger
from schemas import (
    AttributeRetracted,
    AttributeVerified,
    AuditRecorded,
    ConsentGranted,
    ConsentWithdrawn,
    DeliveryApplied,
    InvalidEvent,
    decode,
)
from schemas.topics import Topics
from streams.worker import facts_log

log = get_logger("consumers.readmodel")


@dataclass(frozen=True, slots=True)
class Sealed:
    """A recorded fact of the facts log, still sealed, and where it was read."""

    fact: facts_log.LoggedFact
    partition: int
    offset: int


Read = Fact | Sealed
"""What a record gives the read model before it is written."""


def to_fact(record: Any, topics: Topics) -> Read | None:
    """The fact a record states; None for one the read model passes by."""
    if record.topic == topics.facts:
        return _logged(record)
    fact = _fact(decoded(record), record)
    if fact is None:
        raise PoisonRecord("unexpected_type:type")
    return fact


def _logged(record: Any) -> Read | None:
    """A facts log record: sealed, or an erasure; None (logged) for one that is not."""
    try:
        fact = facts_log.decode(record.value)
    except facts_log.FactsLogError as error:
        _passed_by(record, str(error))
        return None
    if (record.key or b"") != fact.resident.encode():
        _passed_by(record, "key_not_resident")
        return None
    if fact.reason is not None:
        at = fact.decided_at or datetime.fromtimestamp(fact.timestamp_ms / 1000, UTC)
        return ErasureSeen(event_id=fact.id, resident=fact.resident, erased_at=at)
    return Sealed(fact, record.partition, record.offset)


def _passed_by(record: Any, reason: str) -> None:
    log.info(
        "passed by: not a facts log record",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason,
    )


def opened_fact(value: bytes, headers: list[tuple[str, bytes]]) -> Fact | None:
    """The claim, retraction or consent an opened facts log record holds; None if it holds
    none (an event the read model does not keep, or one that does not decode)."""
    try:
        event = decode(value, tuple(headers))
    except InvalidEvent:
        return None
    return _inbound_fact(event)


def _fact(event: Any, record: Any) -> Fact | None:
    """What an inbound event, an audit record or an acknowledgement states; None for any other."""
    if isinstance(event, AuditRecorded | DeliveryApplied):
        return _hub_fact(event, record)
    return _inbound_fact(event)


def _inbound_fact(event: Any) -> Fact | None:
    """A claim, a retraction, a grant or a withdrawal, as the worker saw it."""
    match event:
        case AttributeVerified(data=data):
            value = data.model_dump(mode="json", include={"value"})["value"]
            return ClaimSeen(
                claim_id=event.id,
                resident=event.subject,
                attribute=data.attribute.value,
                source=event.source,
                assurance=data.assurance.value,
                method=data.method,
                verified_at=data.verified_at,
                value_json=orjson.dumps(value).decode(),
            )
        case AttributeRetracted(data=data):
            return RetractionSeen(
                event_id=event.id,
                resident=event.subject,
                claim_id=data.claim_id,
                attribute=data.attribute.value,
                source=event.source,
                reason=data.reason.value,
                issued_at=event.time,
            )
        case ConsentGranted(data=data):
            return GrantSeen(
                event_id=event.id,
                resident=event.subject,
                authority=data.authority,
                attributes=tuple(sorted(a.value for a in data.attributes)),
                purpose=data.purpose,
                local_reference=data.local_reference,
                expires_at=data.expires_at,
                issued_at=event.time,
            )
        case ConsentWithdrawn(data=data):
            names = ("*",) if data.attributes == "all" else tuple(a.value for a in data.attributes)
            return WithdrawalSeen(
                event_id=event.id,
                resident=event.subject,
                authority=data.authority,
                attributes=names,
                issued_at=event.time,
            )
    return None


def _hub_fact(event: AuditRecorded | DeliveryApplied, record: Any) -> Fact:
    """A decision from the audit topic (with where it was read), or an acknowledgement."""
    match event:
        case AuditRecorded(data=data):
            return AuditSeen(
                event_id=event.id,
                subject=event.subject,
                recorded_at=event.time,
                decision=data.decision.value,
                reason=data.reason,
                input_event_id=data.event_id,
                event_type=data.event_type,
                event_source=data.event_source,
                attribute=data.attribute.value if data.attribute else None,
                authority=data.authority,
                claim_id=data.claim_id,
                assurance=data.assurance.value if data.assurance else None,
                decision_id=data.decision_id,
                version=data.version,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
        case DeliveryApplied(data=data):
            return AckSeen(
                event_id=event.id,
                authority=data.authority,
                decision_id=data.decision_id,
                local_reference=data.local_reference,
                applied_at=data.applied_at,
                status=data.status,
            )
