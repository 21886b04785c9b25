"""admit: an inbound event has an effect only when its origin is proven and its role allows it."""

from __future__ import annotations

import datetime as dt

import orjson

from producers import events as build
from schemas import Event, decode, to_binary
from schemas.registry import KeyRecorded, PublisherRegistered, RegistryView, Role, Signer
from schemas.signing import SigningKey, sign_value, wire_document
from streams.core.permissions import Kind
from streams.worker.trust import (
    Rejected,
    admit,
    admit_record,
    allowed,
    record_time,
    request_for,
)

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
RESIDENT = "3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
COUNCIL, APP = "urn:gss:E08000012", "urn:org:resident-app"
KEYS = {source: SigningKey.generate(f"{source}#a") for source in (COUNCIL, APP)}
VIEW = RegistryView().with_records(
    [
        PublisherRegistered(
            source=COUNCIL, role=Role.LOCAL_AUTHORITY, registered_at=T0, registered_by="ops"
        ),
        PublisherRegistered(
            source=APP, role=Role.RESIDENT_APP, registered_at=T0, registered_by="ops"
        ),
        *(
            KeyRecorded(
                source=source,
                key_id=key.key_id,
                public_key=key.public_key(),
                added_at=T0,
                changed_by="ops",
            )
            for source, key in KEYS.items()
        ),
    ]
)


def consent(source: str) -> Event:
    return build.consent_granted(
        source=source,
        resident=RESIDENT,
        authority="E08000012",
        attributes=["address"],
        purpose="council_tax",
        local_reference="LIV-1",
        now=NOW - dt.timedelta(hours=1),
    )


def on_the_wire(event: Event, key: SigningKey | None) -> tuple[dict[str, object], Event]:
    value = event.model_dump_json().encode()
    if key is not None:
        value = sign_value(value, key)
    return wire_document(value), decode(value, now=NOW)


def test_a_resident_apps_consent_is_admitted() -> None:
    """Signed by the resident app's own key, and its role allows consent: the signer comes back."""
    document, event = on_the_wire(consent(APP), KEYS[APP])
    assert admit(document, event, NOW, VIEW) == Signer(APP, Role.RESIDENT_APP, KEYS[APP].key_id)


def test_a_councils_consent_is_rejected_though_its_signature_is_good() -> None:
    """Proven origin is not enough: a council may not grant a resident's consent."""
    document, event = on_the_wire(consent(COUNCIL), KEYS[COUNCIL])
    assert admit(document, event, NOW, VIEW) == Rejected("not_permitted_event_type")


def test_an_unsigned_event_is_rejected_before_any_permission_check() -> None:
    """No signature, no effect, whatever the role would allow."""
    document, event = on_the_wire(consent(APP), None)
    assert admit(document, event, NOW, VIEW) == Rejected("unsigned")


def test_a_signature_by_another_publisher_is_rejected() -> None:
    """The resident app's consent signed with the council's key is not the app's."""
    value = sign_value(orjson.dumps(orjson.loads(consent(APP).model_dump_json())), KEYS[COUNCIL])
    assert admit(wire_document(value), decode(value, now=NOW), NOW, VIEW) == Rejected(
        "signer_not_source"
    )


def test_every_inbound_type_maps_to_a_request() -> None:
    """request_for covers the five inbound kinds; the own authority comes from the source."""
    change = build.subscription_changed(
        source=COUNCIL,
        authority="E08000015",
        attribute="address",
        minimum_assurance="low",
        active=True,
        now=NOW,
    )
    request = request_for(change)
    assert request is not None
    assert (request.kind, request.authority, request.own_authority) == (
        Kind.SUBSCRIPTION_CHANGED,
        "E08000015",
        "E08000012",
    )
    assert allowed(Role.LOCAL_AUTHORITY, change) == Rejected("not_own_subscription")
    assert allowed(Role.OPERATOR, change) is None


def test_a_binary_mode_record_is_admitted_as_its_structured_twin() -> None:
    """admit_record reads either Kafka mode; the signer is the same."""
    value = sign_value(consent(APP).model_dump_json().encode(), KEYS[APP])
    binary_value, headers = to_binary(decode(value, now=NOW))
    stamp = record_time(int(NOW.timestamp() * 1000))
    structured = admit_record(value, [], stamp, VIEW)
    binary = admit_record(binary_value, headers, stamp, VIEW)
    assert isinstance(structured, tuple)
    assert isinstance(binary, tuple)
    assert structured[1] == binary[1] == Signer(APP, Role.RESIDENT_APP, KEYS[APP].key_id)
    assert admit_record(value, [], stamp, RegistryView()) == Rejected("unknown_key")
