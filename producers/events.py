"""Build inbound CloudEvents from typed arguments: the caller gives the facts, we fill the envelope.

Each builder fills ``specversion``, ``id`` (a random UUID unless the caller
brings its own, which makes a resend idempotent), ``time``, ``source`` and
``type``, then validates the whole event with ``schemas`` exactly as a consumer
will. A broken rule raises :class:`producers.errors.InvalidInput` naming the
field and rule, never the value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

from producers.errors import InvalidInput, InvalidSource
from schemas import (
    ATTRIBUTE_RETRACTED,
    ATTRIBUTE_VERIFIED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    SUBSCRIPTION_CHANGED,
    AssuranceLevel,
    AttributeName,
    AttributeRetracted,
    AttributeVerified,
    ConsentGranted,
    ConsentWithdrawn,
    Event,
    InvalidEvent,
    RetractionReason,
    SubscriptionChanged,
    authority_of_source,
    parse,
)


def check_source(source: str) -> str:
    """``source`` when it names a publisher: ``urn:gss:<GSS code>`` or ``urn:org:<name>``."""
    try:
        authority_of_source(source)
    except ValueError as error:
        raise InvalidSource() from error
    return source


def new_event_id() -> str:
    """A fresh event id: a random UUID."""
    return str(uuid.uuid4())


def build(
    event_type: str,
    *,
    source: str,
    subject: str,
    data: Mapping[str, Any],
    now: dt.datetime,
    event_id: str | None = None,
    time: Any = None,
) -> Event:
    """A validated event of ``event_type``; ``time`` is ``now`` unless given."""
    document = {
        "specversion": "1.0",
        "id": new_event_id() if event_id is None else event_id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": now if time is None else time,
        "datacontenttype": "application/json",
        "data": dict(data),
    }
    try:
        return parse(document, now=now)
    except InvalidEvent as error:
        raise InvalidInput(error.errors, error.event_id) from None


def verified(
    *,
    source: str,
    resident: str,
    attribute: AttributeName | str,
    value: Any,
    assurance: AssuranceLevel | str,
    method: str,
    verified_at: dt.datetime,
    now: dt.datetime,
    event_id: str | None = None,
) -> AttributeVerified:
    """``attribute.verified``: ``source`` verified ``value`` for ``resident`` at ``verified_at``."""
    event = build(
        ATTRIBUTE_VERIFIED,
        source=source,
        subject=resident,
        data={
            "attribute": _text(attribute),
            "value": value,
            "assurance": _text(assurance),
            "method": method,
            "verified_at": verified_at,
        },
        now=now,
        event_id=event_id,
    )
    return cast(AttributeVerified, event)


def retracted(
    *,
    source: str,
    resident: str,
    claim_id: str,
    attribute: AttributeName | str,
    reason: RetractionReason | str,
    now: dt.datetime,
    event_id: str | None = None,
) -> AttributeRetracted:
    """``attribute.retracted``: ``source`` takes back its own claim ``claim_id``."""
    event = build(
        ATTRIBUTE_RETRACTED,
        source=source,
        subject=resident,
        data={"claim_id": claim_id, "attribute": _text(attribute), "reason": _text(reason)},
        now=now,
        event_id=event_id,
    )
    return cast(AttributeRetracted, event)


def consent_granted(
    *,
    source: str,
    resident: str,
    authority: str,
    attributes: Iterable[AttributeName | str],
    purpose: str,
    local_reference: str,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
    event_id: str | None = None,
) -> ConsentGranted:
    """``consent.granted``: the resident lets ``authority`` receive ``attributes``."""
    event = build(
        CONSENT_GRANTED,
        source=source,
        subject=resident,
        data={
            "authority": authority,
            "attributes": [_text(name) for name in attributes],
            "purpose": purpose,
            "local_reference": local_reference,
            "expires_at": expires_at,
        },
        now=now,
        event_id=event_id,
    )
    return cast(ConsentGranted, event)


def consent_withdrawn(
    *,
    source: str,
    resident: str,
    authority: str,
    attributes: Iterable[AttributeName | str] | Literal["all"],
    now: dt.datetime,
    event_id: str | None = None,
) -> ConsentWithdrawn:
    """``consent.withdrawn``: the resident stops ``authority`` receiving ``attributes`` (or all)."""
    names: list[object] | str = (
        "all" if attributes == "all" else [_text(name) for name in attributes]
    )
    event = build(
        CONSENT_WITHDRAWN,
        source=source,
        subject=resident,
        data={"authority": authority, "attributes": names},
        now=now,
        event_id=event_id,
    )
    return cast(ConsentWithdrawn, event)


def subscription_changed(
    *,
    source: str,
    authority: str,
    attribute: AttributeName | str,
    minimum_assurance: AssuranceLevel | str,
    active: bool,
    now: dt.datetime,
    event_id: str | None = None,
) -> SubscriptionChanged:
    """``subscription.changed``: ``authority`` starts or stops receiving ``attribute``."""
    event = build(
        SUBSCRIPTION_CHANGED,
        source=source,
        subject=authority,
        data={
            "authority": authority,
            "attribute": _text(attribute),
            "minimum_assurance": _text(minimum_assurance),
            "active": active,
        },
        now=now,
        event_id=event_id,
    )
    return cast(SubscriptionChanged, event)


def _text(value: object) -> object:
    """An enum member's wire value; anything else unchanged (validation judges it)."""
    return (
        value.value
        if isinstance(value, AttributeName | AssuranceLevel | RetractionReason)
        else value
    )
