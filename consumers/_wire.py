"""The subscriber's one translation point between Kafka records and its own types.

Deliveries in (``profile.updated``, ``consent.ended``), acknowledgements out
(``delivery.applied``). Anything that cannot become a delivery for this
authority is a ``PoisonRecord`` with a reason that names a field and a rule,
never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from consumers._apply import Delivery, Ending, Provenance, Update
from consumers._repository import PendingAck
from consumers.errors import PoisonRecord
from schemas import (
    ConsentEnded,
    Event,
    InvalidEvent,
    ProfileUpdated,
    decode,
    encode,
)
from schemas.acknowledgements import delivery_applied


def invalid_reason(error: InvalidEvent) -> str:
    """``invalid:<field>:<rule>`` of the first broken rule (names only, never values)."""
    first = error.errors[0] if error.errors else None
    return f"invalid:{first.field}:{first.rule}" if first else "invalid"


def decoded(record: Any) -> Event:
    """The event in a Kafka record (either mode), or ``PoisonRecord`` with the broken rule."""
    if record.value is None:
        raise PoisonRecord("invalid:$:empty_record")
    try:
        return decode(record.value, tuple(record.headers))
    except InvalidEvent as error:
        raise PoisonRecord(invalid_reason(error)) from None


def to_delivery(record: Any, authority: str) -> Delivery:
    """Decode one record of the authority's delivery topic, or raise ``PoisonRecord``."""
    event = decoded(record)
    if isinstance(event, ProfileUpdated):
        data = event.data
        if data.authority != authority:
            raise PoisonRecord("wrong_authority:data.authority")
        value = data.model_dump(mode="json", include={"value"})["value"]
        p = data.provenance
        return Update(
            event_id=event.id,
            subject=event.subject,
            decision_id=data.decision_id,
            version=data.version,
            local_reference=data.local_reference,
            attribute=data.attribute.value,
            value_json=None if value is None else orjson.dumps(value).decode(),
            provenance=None
            if p is None
            else Provenance(p.claim_id, p.source, p.assurance.value, p.method, p.verified_at),
        )
    if isinstance(event, ConsentEnded):
        ended = event.data
        if ended.authority != authority:
            raise PoisonRecord("wrong_authority:data.authority")
        return Ending(
            event_id=event.id,
            subject=event.subject,
            decision_id=ended.decision_id,
            version=ended.version,
            local_reference=ended.local_reference,
            attributes=tuple(name.value for name in ended.attributes),
            reason=ended.reason,
        )
    raise PoisonRecord("unexpected_type:type")


def acknowledgements(
    authority: str, pending: Sequence[PendingAck], now: datetime
) -> list[tuple[bytes, bytes]]:
    """``delivery.applied`` events as (key, value): keyed by the delivery's subject.

    The event id is derived from the authority and decision, so a resend after a
    crash carries the same id and the hub counts it once.
    """
    messages = []
    for ack in pending:
        event = delivery_applied(
            authority,
            ack.decision_id,
            ack.subject,
            ack.local_reference,
            ack.applied_at,
            now,
            status=ack.status,
        )
        messages.append((ack.subject.encode(), encode(event)))
    return messages
