"""Who may say what, for one inbound event: proven origin, then the signer's role permits it.

This is the one function the worker and replay share (the gateway uses
:func:`allowed`, handed to it by its wiring since it sits below ``streams``):
:func:`admit` verifies the event's signature against the registry view
(``schemas.registry.verify``) and then asks the pure permission check
(``streams.core.permissions.permitted``) whether the source's role allows
it. Both are pure, so the same event, record timestamp and registry give the
same answer live and in a replay years later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import (
    AttributeRetracted,
    AttributeVerified,
    ConsentGranted,
    ConsentWithdrawn,
    Event,
    SubscriptionChanged,
    authority_of_source,
)
from schemas.registry import RegistryView, Signer, verify
from schemas.validation import decode_with_document
from streams.core.permissions import Kind, Request, permitted


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why an event has no effect: a reason code for the dead letter and the audit record."""

    reason: str
    event: Event | None = field(default=None, compare=False)
    """The refused event as decoded (set by :func:`admit_record`), so nobody decodes it again."""


def request_for(event: Event) -> Request | None:
    """What the permission check looks at in ``event`` (``None``: not an inbound type)."""
    match event:
        case AttributeVerified(data=claim):
            return Request(
                Kind.ATTRIBUTE_VERIFIED,
                attribute=claim.attribute.value,
                level=claim.assurance.rank,
                method=claim.method,
            )
        case AttributeRetracted(data=retraction):
            return Request(Kind.ATTRIBUTE_RETRACTED, attribute=retraction.attribute.value)
        case ConsentGranted(data=grant):
            return Request(Kind.CONSENT_GRANTED, authority=grant.authority)
        case ConsentWithdrawn(data=withdrawal):
            return Request(Kind.CONSENT_WITHDRAWN, authority=withdrawal.authority)
        case SubscriptionChanged(source=source, data=change):
            return Request(
                Kind.SUBSCRIPTION_CHANGED,
                authority=change.authority,
                own_authority=authority_of_source(source),
            )
    return None


def allowed(role: str, event: Event) -> Rejected | None:
    """``None`` when ``role`` may publish ``event``, else the reason (the gateway's 403)."""
    request = request_for(event)
    if request is None:
        return Rejected("not_permitted_event_type")
    refusal = permitted(role, request)
    return None if refusal is None else Rejected(refusal.reason.value)


def admit(
    document: Mapping[str, Any],
    event: Event,
    record_timestamp: dt.datetime,
    view: RegistryView,
) -> Signer | Rejected:
    """The proven signer of an inbound event whose role allows it, or why it has no effect.

    ``document`` is the event as one JSON object as it came off the wire
    (``schemas.signing.wire_document``), ``event`` the same event validated,
    ``record_timestamp`` the Kafka record's (broker) timestamp. The caller
    must hold a view that is ``fresh_enough`` for that timestamp.
    """
    signer = verify(document, record_timestamp, view)
    if not isinstance(signer, Signer):
        return Rejected(signer.value)
    refusal = allowed(signer.role, event)
    return signer if refusal is None else refusal


def record_time(timestamp_ms: int) -> dt.datetime:
    """A Kafka record's timestamp (milliseconds; LogAppendTime on the inbound topics) as UTC."""
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC)


def admit_record(
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    record_timestamp: dt.datetime,
    view: RegistryView,
) -> tuple[Event, Signer] | Rejected:
    """One inbound Kafka record, decoded and admitted: the event and its signer, or why not.

    Raises ``schemas.InvalidEvent`` as ``schemas.decode`` does (a poison message,
    handled as today). The caller converts the event with ``codec.to_fact``.
    """
    event, document = decode_with_document(value or b"", headers)
    verdict = admit(document, event, record_timestamp, view)
    if isinstance(verdict, Rejected):
        return Rejected(verdict.reason, event)
    return event, verdict
