"""Property tests: generated events round-trip and meet their JSON Schema; mutants are refused."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import jsonschema
import orjson
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from schemas import (
    EVENT_TYPES,
    MODELS,
    AttributeName,
    AttributeVerified,
    Event,
    InvalidEvent,
    decode,
    encode,
    normalise_postcode,
)
from schemas import strategies as events_st
from schemas.attributes import POSTCODE_PATTERN
from schemas.contracts import CONTRACTS_DIR, JSON_SCHEMA_DIR

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SETTINGS = settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
VALIDATORS = {
    event_type: jsonschema.Draft202012Validator(
        json.loads((CONTRACTS_DIR / JSON_SCHEMA_DIR / f"{event_type}.json").read_text())
    )
    for event_type in EVENT_TYPES
}
ENVELOPE_REQUIRED = ("specversion", "id", "source", "type", "subject", "time", "data")


def document_of(event: Event) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(encode(event))
    return document


def refusal(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The (field, rule) pairs decode reports for ``document``; fails if it is accepted."""
    try:
        decode(orjson.dumps(document), now=NOW)
    except InvalidEvent as error:
        return [(problem.field, problem.rule) for problem in error.errors]
    raise AssertionError("a mutated event was accepted")


def schema_rejects(event_type: str, document: dict[str, Any]) -> bool:
    return not VALIDATORS[event_type].is_valid(document)


@SETTINGS
@given(events_st.events())
def test_every_generated_event_round_trips_and_meets_its_json_schema(event: Event) -> None:
    """model -> JSON -> model gives an equal event, and the JSON satisfies the checked-in schema."""
    encoded = encode(event)
    assert decode(encoded, now=NOW) == event
    assert encode(decode(encoded, now=NOW)) == encoded
    errors = [error.message for error in VALIDATORS[event.type].iter_errors(orjson.loads(encoded))]
    assert errors == []


@SETTINGS
@given(events_st.events(), st.data())
def test_removing_a_required_field_is_refused_as_required(
    event: Event, data: st.DataObject
) -> None:
    """Dropping any required envelope or data field yields ``required`` at that field."""
    document = document_of(event)
    required_data = [
        name for name, field in type(event.data).model_fields.items() if field.is_required()
    ]
    path = data.draw(
        st.sampled_from(
            [(name,) for name in ENVELOPE_REQUIRED] + [("data", name) for name in required_data]
        )
    )
    parent = document if len(path) == 1 else document["data"]
    del parent[path[-1]]
    assert refusal(document) == [(".".join(path), "required")]
    assert schema_rejects(event.type, document)


_WRONG = st.sampled_from([12345, 1.5, True, ["x"], {"x": 1}])
_NOT_PLAIN_STRINGS = {
    "attribute",
    "assurance",
    "minimum_assurance",
    "reason",
    "decision",
    "attributes",
}


@SETTINGS
@given(events_st.events(), st.data())
def test_a_value_of_the_wrong_json_type_is_refused_as_wrong_type(
    event: Event, data: st.DataObject
) -> None:
    """Putting a number, boolean, list or object where a string belongs yields ``wrong_type``."""
    document = document_of(event)
    candidates: list[tuple[str, ...]] = [("id",), ("source",), ("subject",), ("time",)]
    candidates += [
        ("data", name)
        for name, value in document["data"].items()
        if isinstance(value, str) and name not in _NOT_PLAIN_STRINGS
    ]
    path = data.draw(st.sampled_from(candidates))
    wrong = data.draw(_WRONG)
    assume(not (path == ("source",) and isinstance(wrong, str)))
    (document if len(path) == 1 else document["data"])[path[-1]] = wrong
    field = ".".join(path)
    assert refusal(document) == [(field, "wrong_type")]
    assert schema_rejects(event.type, document)


@SETTINGS
@given(events_st.events(), st.integers(6, 10**6))
def test_an_event_time_in_the_future_is_refused(event: Event, minutes: int) -> None:
    """An event ``time`` more than five minutes after now yields ``not_in_future``."""
    document = document_of(event)
    document["time"] = (NOW + dt.timedelta(minutes=minutes)).isoformat()
    if document["data"].get("expires_at") is not None:
        document["data"]["expires_at"] = "2200-01-01T00:00:00Z"  # the latest year allowed
    assert refusal(document) == [("time", "not_in_future")]


@SETTINGS
@given(events_st.attribute_verified(), st.integers(1, 60_000))
def test_a_claim_verified_in_the_future_is_refused(event: AttributeVerified, days: int) -> None:
    """A ``verified_at`` in the future (up to 2189; 2200 is the bound) yields ``not_in_future``."""
    document = document_of(event)
    document["data"]["verified_at"] = (NOW + dt.timedelta(days=days)).isoformat()
    assert refusal(document) == [("data.verified_at", "not_in_future")]


@SETTINGS
@given(events_st.attribute_verified(attribute=AttributeName.DATE_OF_BIRTH), st.integers(2, 10**5))
def test_a_date_of_birth_in_the_future_is_refused(event: AttributeVerified, days: int) -> None:
    """A date of birth after today yields ``not_in_future`` at ``data.value``."""
    document = document_of(event)
    document["data"]["value"] = (NOW + dt.timedelta(days=days)).date().isoformat()
    assert refusal(document) == [("data.value", "not_in_future")]


_POSTCODE = re.compile(POSTCODE_PATTERN)
_BAD_POSTCODES = st.text(
    st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=10
).filter(lambda text: not _POSTCODE.fullmatch(normalise_postcode(text)))


@SETTINGS
@given(events_st.attribute_verified(attribute=AttributeName.ADDRESS), _BAD_POSTCODES)
def test_a_bad_postcode_is_refused(event: AttributeVerified, postcode: str) -> None:
    """An address whose postcode is no UK postcode yields ``postcode_format``."""
    document = document_of(event)
    document["data"]["value"]["postcode"] = postcode
    assert refusal(document) == [("data.value.postcode", "postcode_format")]
    assert schema_rejects(event.type, document)


_CATALOGUE = {name.value for name in AttributeName}
_UNKNOWN_ATTRIBUTES = st.one_of(
    st.sampled_from(["national_insurance_number", "nhs_number", "Address", "passport"]),
    st.from_regex(r"[a-z_]{1,24}", fullmatch=True),
).filter(lambda name: name not in _CATALOGUE)


@SETTINGS
@given(events_st.events(), _UNKNOWN_ATTRIBUTES)
def test_an_unknown_attribute_is_refused(event: Event, name: str) -> None:
    """An attribute outside the catalogue yields ``unknown_attribute`` where it was named."""
    document = document_of(event)
    if "attribute" in document["data"]:
        document["data"]["attribute"] = name
        field = "data.attribute"
    elif isinstance(document["data"].get("attributes"), list):
        document["data"]["attributes"][0] = name
        field = "data.attributes.0"
    else:
        assume(False)
    assert refusal(document) == [(field, "unknown_attribute")]
    assert schema_rejects(event.type, document)


@SETTINGS
@given(events_st.events(), st.integers(0, 99).filter(lambda version: version != 1))
def test_an_unknown_type_version_is_refused(event: Event, version: int) -> None:
    """A known type with another major version yields ``unknown_type``."""
    document = document_of(event)
    document["type"] = event.type.removesuffix("v1") + f"v{version}"
    assert refusal(document) == [("type", "unknown_type")]
    assert schema_rejects(event.type, document)


@SETTINGS
@given(events_st.events(), st.from_regex(r"x_[a-z0-9_]{1,20}", fullmatch=True), st.booleans())
def test_an_unknown_field_is_refused(event: Event, name: str, in_data: bool) -> None:
    """A field the type does not define, in the envelope or the data, yields ``extra_field``;
    its made-up name is never repeated (it may be personal data), only shown as ``*``."""
    document = document_of(event)
    (document["data"] if in_data else document)[name] = "surprise"
    field = "data.*" if in_data else "*"
    assert refusal(document) == [(field, "extra_field")]
    assert schema_rejects(event.type, document)


@settings(deadline=None, max_examples=30)
@given(st.data())
def test_pinned_strategies_keep_the_pinned_values(data: st.DataObject) -> None:
    """Strategies honour pinned residents, sources, authorities and attributes."""
    resident = data.draw(events_st.residents())
    claim = data.draw(
        events_st.attribute_verified(
            resident=resident, source="urn:org:dwp", attribute=AttributeName.ADDRESS
        )
    )
    consent = data.draw(
        events_st.consent_granted(resident=resident, authority="E08000012", expiring=False)
    )
    subscription = data.draw(events_st.subscription_changed(authority="urn:org:dwp"))
    assert (claim.subject, claim.source, claim.data.attribute) == (
        resident,
        "urn:org:dwp",
        "address",
    )
    assert (consent.subject, consent.data.authority, consent.data.expires_at) == (
        resident,
        "E08000012",
        None,
    )
    assert subscription.subject == subscription.data.authority == "urn:org:dwp"


def test_every_type_has_a_strategy() -> None:
    """``events()`` can produce each of the nine types. Derandomized, so the same draws every
    run: 200 random ones missed a type now and then."""
    seen: set[str] = set()

    @settings(
        deadline=None,
        max_examples=400,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
    )
    @given(events_st.events())
    def collect(event: Event) -> None:
        seen.add(event.type)

    collect()
    assert seen == set(MODELS)
