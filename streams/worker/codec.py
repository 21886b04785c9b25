"""The one place wire bytes become core values and core values become wire bytes.

Inbound: CloudEvents (validated by ``schemas``) become core facts; worker
control messages become ``Reevaluate`` or ``Erase``. Outbound: deliveries and consent endings
become CloudEvents; audit entries become them in ``audit_records``, with this module's
instants and contract check. Profiles (the Faust table's values) are stored as compact JSON.

Deliveries carry the authority's pairwise pseudonym for the resident as key
and subject (an HMAC of authority and hub id under a secret key), never the
hub id itself, and the authority's own local reference in their data.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

import schemas
from streams.core import (
    ALL_ATTRIBUTES,
    LEVELS,
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Delivery,
    Ending,
    Erase,
    Input,
    Reevaluate,
    Retraction,
    SubscriptionChange,
)
from streams.worker.errors import OutputRejected

Headers = Sequence[tuple[str, bytes]]
_M = TypeVar("_M", bound=BaseModel)

KIND_TYPES = {
    "Claim": schemas.ATTRIBUTE_VERIFIED,
    "Retraction": schemas.ATTRIBUTE_RETRACTED,
    "ConsentGrant": schemas.CONSENT_GRANTED,
    "ConsentWithdrawal": schemas.CONSENT_WITHDRAWN,
    "SubscriptionChange": schemas.SUBSCRIPTION_CHANGED,
    "Reevaluate": "uk.gov.rps.control.reevaluate.v1",
    "Erase": "uk.gov.rps.control.erase.v1",
}
CONTROL_TYPE = KIND_TYPES["Reevaluate"]
ERASE_TYPE = KIND_TYPES["Erase"]


class ControlError(ValueError):
    """A control message that is not one this worker wrote."""


def digest(raw: bytes) -> str:
    """A fingerprint of an event's canonical bytes."""
    return hashlib.sha256(raw).hexdigest()[:32]


def to_fact(event: schemas.Event) -> Input | SubscriptionChange:
    """The core value for a validated inbound event."""
    untraced = event  # the trace context is not content: a resend with another is the same event
    if event.traceparent is not None or event.tracestate is not None:
        untraced = event.model_copy(update={"traceparent": None, "tracestate": None})
    fingerprint = digest(schemas.encode(untraced))
    source = schemas.authority_of_source(event.source)
    match event:
        case schemas.AttributeVerified():
            data = event.data
            value = schemas.VALUE_ADAPTERS[data.attribute].dump_python(data.value, mode="json")
            return Claim(
                id=event.id,
                resident=event.subject,
                attribute=str(data.attribute),
                value=value,
                level=data.assurance.rank,
                source=source,
                method=data.method,
                verified_at=data.verified_at,
                digest=fingerprint,
            )
        case schemas.AttributeRetracted():
            return Retraction(
                id=event.id,
                resident=event.subject,
                claim_id=event.data.claim_id,
                attribute=str(event.data.attribute),
                source=source,
                reason=str(event.data.reason),
                issued_at=event.time,
                digest=fingerprint,
            )
        case schemas.ConsentGranted() | schemas.ConsentWithdrawn():
            return _consent(event, source, fingerprint)
        case schemas.SubscriptionChanged():
            return SubscriptionChange(
                id=event.id,
                authority=event.data.authority,
                attribute=str(event.data.attribute),
                minimum_level=event.data.minimum_assurance.rank,
                active=event.data.active,
                issued_at=event.time,
            )
    raise schemas.InvalidEvent(
        event.id, [schemas.FieldError("type", "not_inbound", "is not an inbound event type")]
    )


def _consent(
    event: schemas.ConsentGranted | schemas.ConsentWithdrawn, source: str, fingerprint: str
) -> ConsentGrant | ConsentWithdrawal:
    """The core value for a consent granted or withdrawn."""
    if isinstance(event, schemas.ConsentGranted):
        return ConsentGrant(
            id=event.id,
            resident=event.subject,
            authority=event.data.authority,
            attributes=frozenset(str(a) for a in event.data.attributes),
            purpose=event.data.purpose,
            local_reference=event.data.local_reference,
            expires_at=event.data.expires_at,
            issued_at=event.time,
            digest=fingerprint,
            source=source,
        )
    names = event.data.attributes
    return ConsentWithdrawal(
        id=event.id,
        resident=event.subject,
        authority=event.data.authority,
        attributes=frozenset({ALL_ATTRIBUTES})
        if names == "all"
        else frozenset(str(a) for a in names),
        issued_at=event.time,
        digest=fingerprint,
        source=source,
    )


def decode_inbound(value: bytes | None, headers: Headers = ()) -> Input | SubscriptionChange:
    """Validate and convert one inbound record; raises ``schemas.InvalidEvent``."""
    return to_fact(schemas.decode(value or b"", headers))


def encode_control(item: Reevaluate | Erase) -> bytes:
    kind = ERASE_TYPE if isinstance(item, Erase) else CONTROL_TYPE
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": item.id,
            "source": schemas.HUB_SOURCE,
            "type": kind,
            "subject": item.resident,
            "reason": item.reason,
        }
    )


def decode_control(value: bytes | None) -> Reevaluate | Erase:
    try:
        document = orjson.loads(value or b"")
        fields = (str(document["id"]), str(document["subject"]), str(document["reason"]))
        if document["type"] == CONTROL_TYPE:
            return Reevaluate(*fields)
        if document["type"] == ERASE_TYPE:
            return Erase(*fields)
        raise ControlError("not a control message")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ControlError("not a control message") from error


# -- outbound ------------------------------------------------------------------------------


def validated(model: type[_M], document: dict[str, Any]) -> _M:
    """Validate an outbound document; a failure names fields and rules only, never values."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        where = ", ".join(
            f"{'.'.join(str(p) for p in e['loc'])} ({e['type']})" for e in error.errors()
        )
        raise OutputRejected(f"{model.__name__} breaks its contract at {where}") from None


def pseudonym(key: bytes, authority: str, resident: str) -> str:
    """The authority's pairwise pseudonym for a resident: stable, opaque, UUID-shaped."""
    mac = hmac.new(key, f"{authority}|{resident}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16], version=4))


Trace = tuple[str | None, str | None]
"""A W3C ``(traceparent, tracestate)`` for an output (the CloudEvents tracing extension)."""


def encode_delivery(
    delivery: Delivery, key: bytes, now: datetime | str, trace: Trace = (None, None)
) -> tuple[bytes, bytes]:
    """The (key, value) of a ``profile.updated`` record for the authority's topic.

    Written with orjson, not through the model: everything in it but the value is an id, a
    name or a level the core chose; the value, the resident's personal data, is checked
    against its attribute's contract again on the way out, so a value under the wrong
    attribute never reaches an authority (``OutputRejected``). A property test proves the
    bytes equal what the model writes (:func:`delivery_event`) for every valid claim.
    """
    if delivery.claim is not None:
        _check_value(delivery.attribute, delivery.claim.value)
    subject = pseudonym(key, delivery.authority, delivery.resident)
    stamp = now if isinstance(now, str) else instant(now)
    document = _delivery_document(delivery, subject, stamp, instant, trace)
    return subject.encode(), orjson.dumps(document)


def delivery_event(
    delivery: Delivery, key: bytes, now: datetime, trace: Trace = (None, None)
) -> schemas.ProfileUpdated:
    """The ``profile.updated`` event for a delivery, through the model (the contract itself)."""
    subject = pseudonym(key, delivery.authority, delivery.resident)
    document = _delivery_document(delivery, subject, now, None, trace)
    return validated(schemas.ProfileUpdated, document)


def _delivery_document(
    delivery: Delivery,
    subject: str,
    now: datetime | str,
    times: Callable[[datetime], str] | None,
    trace: Trace = (None, None),
) -> dict[str, Any]:
    """A delivery as a document in ``schemas.ProfileUpdated``'s field order; ``times``
    formats its instants (``None`` leaves them datetimes, for the model)."""
    claim = delivery.claim
    provenance = None
    if claim is not None:
        provenance = {
            "claim_id": claim.id,
            "source": schemas.source_of_authority(claim.source),
            "assurance": LEVELS[claim.level],
            "method": claim.method,
            "verified_at": times(claim.verified_at) if times else claim.verified_at,
        }
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": delivery.decision_id,
        "source": schemas.HUB_SOURCE,
        "type": schemas.PROFILE_UPDATED,
        "subject": subject,
        "time": now,
        "datacontenttype": "application/json",
    }
    traceparent, tracestate = trace
    if traceparent:
        document["traceparent"] = traceparent
        if tracestate:
            document["tracestate"] = tracestate
    document["data"] = {
        "authority": delivery.authority,
        "local_reference": delivery.local_reference,
        "attribute": delivery.attribute,
        "value": claim.value if claim else None,
        "provenance": provenance,
        "decision_id": delivery.decision_id,
        "version": delivery.version,
    }
    return document


def _check_value(attribute: str, value: Any) -> None:
    """Refuse a value its attribute's contract does not accept; name the rule, never the value."""
    adapter = schemas.VALUE_ADAPTERS.get(attribute)  # type: ignore[call-overload]
    if adapter is None:
        raise OutputRejected("ProfileUpdated breaks its contract at data.attribute (enum)")
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        where = ", ".join(
            f"{'.'.join(('data', 'value', *(str(p) for p in e['loc'])))} ({e['type']})"
            for e in error.errors()
        )
        raise OutputRejected(f"ProfileUpdated breaks its contract at {where}") from None


def encode_ending(ending: Ending, key: bytes, now: datetime) -> tuple[bytes, bytes]:
    """The (key, value) of a ``consent.ended`` record for the authority's topic."""
    subject = pseudonym(key, ending.authority, ending.resident)
    event = validated(
        schemas.ConsentEnded,
        {
            "specversion": "1.0",
            "id": ending.decision_id,
            "source": schemas.HUB_SOURCE,
            "type": schemas.CONSENT_ENDED,
            "subject": subject,
            "time": now,
            "data": {
                "authority": ending.authority,
                "local_reference": ending.local_reference,
                "attributes": list(ending.attributes),
                "reason": ending.reason,
                "decision_id": ending.decision_id,
                "version": ending.version,
            },
        },
    )
    return subject.encode(), schemas.encode(event)


def instant(value: datetime) -> str:
    """An aware datetime as the contracts write it (RFC 3339, ``Z`` for UTC), as pydantic does."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
