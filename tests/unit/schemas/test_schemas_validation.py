"""``decode``/``encode``: structured and binary mode, limits, and errors that never echo values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from schemas import (
    ATTRIBUTE_VERIFIED,
    EVENT_TYPES,
    MAX_BYTES,
    AddressClaim,
    AttributeVerified,
    FieldError,
    InvalidEvent,
    ProfileUpdated,
    check,
    decode,
    encode,
    to_binary,
)
from schemas.samples import example_lines

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
PLANTED = "Zebedee-Quorn-4471"


def verified() -> dict[str, Any]:
    """The first address example as a mutable document."""
    document: dict[str, Any] = orjson.loads(example_lines(ATTRIBUTE_VERIFIED)[0])
    return document


def errors_of(document: Any, *, now: dt.datetime = NOW) -> tuple[FieldError, ...]:
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps(document), now=now)
    return caught.value.errors


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_example_decodes_and_encodes_back_to_an_equal_event(event_type: str) -> None:
    """Each shipped example decodes to its type's model and survives encode/decode unchanged."""
    for line in example_lines(event_type):
        event = decode(line, now=NOW)
        assert event.type == event_type
        assert decode(encode(event), now=NOW) == event


def test_decoded_claim_exposes_the_typed_value() -> None:
    """Consumers read ``data.attribute``, ``data.value`` and the rest as typed fields."""
    event = decode(orjson.dumps(verified()), now=NOW)
    assert isinstance(event, AttributeVerified)
    assert isinstance(event.data, AddressClaim)
    assert event.data.value.postcode == "CH41 6AU"
    assert event.data.assurance == "medium"


def test_encode_is_compact_and_stable() -> None:
    """Encoding is deterministic, compact UTF-8 JSON starting with the CloudEvents attributes."""
    event = decode(orjson.dumps(verified()), now=NOW)
    encoded = encode(event)
    assert encoded == encode(decode(encoded, now=NOW))
    assert b" " not in encoded.split(b'"lines"')[0]
    assert encoded.startswith(b'{"specversion":"1.0","id":"wirral-ctax-2025-000417"')


def test_binary_mode_reads_the_envelope_from_ce_headers() -> None:
    """A Kafka binary-mode message (ce_* headers, data as value) decodes to the same event."""
    event = decode(orjson.dumps(verified()), now=NOW)
    value, headers = to_binary(event)
    assert ("ce_type", ATTRIBUTE_VERIFIED.encode()) in headers
    assert decode(value, headers, now=NOW) == event


def test_binary_mode_errors_name_the_header_field() -> None:
    """A bad ``ce_subject`` header is reported as the ``subject`` field."""
    event = decode(orjson.dumps(verified()), now=NOW)
    value, headers = to_binary(event)
    broken = [(name, b"not-a-uuid" if name == "ce_subject" else raw) for name, raw in headers]
    with pytest.raises(InvalidEvent) as caught:
        decode(value, broken, now=NOW)
    assert caught.value.event_id == "wirral-ctax-2025-000417"
    assert [(error.field, error.rule) for error in caught.value.errors] == [
        ("subject", "uuid_format")
    ]


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (b"{not json", "not_json"),
        (b'"\xed\xa0\x80"', "not_utf8"),
        (b"[" * 2000 + b"]" * 2000, "too_deep"),
        (b'{"a":' * 20 + b"1" + b"}" * 20, "too_deep"),
        (b" " * (MAX_BYTES + 1), "too_large"),
        (b"[1, 2]", "wrong_type"),
    ],
)
def test_malformed_messages_are_refused_before_any_model(payload: bytes, rule: str) -> None:
    """Non-JSON, non-UTF-8, too deep, too large and non-object messages get a whole-message rule."""
    with pytest.raises(InvalidEvent) as caught:
        decode(payload, now=NOW)
    assert [(error.field, error.rule) for error in caught.value.errors] == [("$", rule)]


@pytest.mark.parametrize(
    ("mutate", "field", "rule"),
    [
        (
            lambda d: d["data"]["value"].update(postcode="ZZ9 9ZZZ"),
            "data.value.postcode",
            "postcode_format",
        ),
        (lambda d: d["data"]["value"].update(uprn="0001"), "data.value.uprn", "uprn_format"),
        (lambda d: d["data"].update(attribute="ni_number"), "data.attribute", "unknown_attribute"),
        (lambda d: d.update(type="uk.gov.rps.attribute.verified.v2"), "type", "unknown_type"),
        (lambda d: d.pop("type"), "type", "required"),
        (lambda d: d["data"].pop("assurance"), "data.assurance", "required"),
        (lambda d: d["data"].update(assurance="extreme"), "data.assurance", "not_allowed"),
        (lambda d: d["data"].update(verified_at=1741000000), "data.verified_at", "wrong_type"),
        (
            lambda d: d["data"].update(verified_at="2025-06-02T00:00:00Z"),
            "data.verified_at",
            "not_in_future",
        ),
        (lambda d: d.update(time="2025-03-03"), "time", "datetime_format"),
        (lambda d: d["data"].update(colour="green"), "data.*", "extra_field"),
        (
            lambda d: d.update(subject="3F9C2A4E-8B1D-4C6A-9E2F-1A2B3C4D5E6F"),
            "subject",
            "uuid_format",
        ),
        (lambda d: d.update(source="urn:gss:Liverpool"), "source", "source_format"),
        (lambda d: d.update(specversion="0.3"), "specversion", "not_allowed"),
        (lambda d: d["data"]["value"].update(lines=[]), "data.value.lines", "too_short"),
        (
            lambda d: d["data"]["value"].update(local_authority="urn:org:dwp"),
            "data.value.local_authority",
            "gss_format",
        ),
    ],
)
def test_each_broken_rule_is_named_with_its_field(mutate: Any, field: str, rule: str) -> None:
    """A broken event yields exactly one error naming the dotted field path and the rule code."""
    document = verified()
    mutate(document)
    assert [(error.field, error.rule) for error in errors_of(document)] == [(field, rule)]


def test_value_rules_inside_profile_updates_are_reported_at_the_value() -> None:
    """An outbound value is checked against its attribute's model, errors under ``data.value``."""
    document: dict[str, Any] = orjson.loads(example_lines("uk.gov.rps.profile.updated.v1")[0])
    document["data"]["value"]["postcode"] = "nowhere"
    assert [(e.field, e.rule) for e in errors_of(document)] == [
        ("data.value.postcode", "postcode_format")
    ]
    document["data"]["value"] = "m.whitfield@example.com"
    assert [(e.field, e.rule) for e in errors_of(document)] == [("data.value", "wrong_type")]
    document["data"]["attribute"] = "email"
    assert isinstance(decode(orjson.dumps(document), now=NOW), ProfileUpdated)


def test_death_before_birth_in_the_same_event_is_refused() -> None:
    """A registrar's date of death before the date of birth it carries is refused."""
    document = verified()
    document["data"].update(
        attribute="date_of_death", value={"date": "1930-01-01", "date_of_birth": "1931-11-02"}
    )
    assert [(e.field, e.rule) for e in errors_of(document)] == [
        ("data.value.date", "death_before_birth")
    ]


def test_now_allows_five_minutes_of_clock_skew() -> None:
    """An instant four minutes ahead of ``now`` passes; six minutes ahead does not."""
    document = verified()
    document["time"] = (NOW + dt.timedelta(minutes=4)).isoformat()
    assert decode(orjson.dumps(document), now=NOW).id == "wirral-ctax-2025-000417"
    document["time"] = (NOW + dt.timedelta(minutes=6)).isoformat()
    assert [(e.field, e.rule) for e in errors_of(document)] == [("time", "not_in_future")]


def test_consent_must_expire_after_it_was_issued() -> None:
    """A consent whose ``expires_at`` is not after its ``time`` is refused."""
    document: dict[str, Any] = orjson.loads(example_lines("uk.gov.rps.consent.granted.v1")[1])
    document["data"]["expires_at"] = document["time"]
    assert [(e.field, e.rule) for e in errors_of(document)] == [
        ("data.expires_at", "expiry_not_after_issue")
    ]


def test_acknowledgement_must_come_from_the_authority_it_names() -> None:
    """A delivery.applied whose source is not its authority's own is refused."""
    document: dict[str, Any] = orjson.loads(example_lines("uk.gov.rps.delivery.applied.v1")[0])
    document["source"] = "urn:gss:E08000015"
    assert [(e.field, e.rule) for e in errors_of(document)] == [("source", "source_mismatch")]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["data"]["value"].update(postcode=PLANTED),
        lambda d: d["data"]["value"].update(town=PLANTED * 10),
        lambda d: d["data"].update(attribute=PLANTED),
        lambda d: d.update(type=PLANTED),
        lambda d: d.update(subject=PLANTED),
        lambda d: d["data"].update(**{PLANTED: 1}),
        lambda d: d["data"].update(verified_at=PLANTED),
        lambda d: d["data"]["value"].update(lines=[PLANTED + "\x07"]),
        lambda d: d.update(id=PLANTED + " with spaces"),
    ],
)
def test_errors_never_echo_the_submitted_value(mutate: Any) -> None:
    """Neither the messages nor ``str(InvalidEvent)`` contain a value the sender submitted."""
    document = verified()
    mutate(document)
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps(document), now=NOW)
    text = str(caught.value) + repr(caught.value.errors) + repr(caught.value.args)
    assert caught.value.errors
    assert PLANTED not in text


def test_check_returns_the_error_instead_of_raising() -> None:
    """``check`` gives back the event or the InvalidEvent, never raising for bad input."""
    assert isinstance(check(b"nope", now=NOW), InvalidEvent)
    assert check(orjson.dumps(verified()), now=NOW).id == "wirral-ctax-2025-000417"  # type: ignore[union-attr]


def test_invalid_event_carries_the_id_only_when_well_formed() -> None:
    """The event id is reported when it is well formed, and withheld when it is not."""
    document = verified()
    document["data"].pop("method")
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps(document), now=NOW)
    assert caught.value.event_id == "wirral-ctax-2025-000417"
    assert (
        str(caught.value)
        == "invalid event wirral-ctax-2025-000417: data.method: required: is required"
    )
    document["id"] = "has spaces"
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps(document), now=NOW)
    assert caught.value.event_id is None
