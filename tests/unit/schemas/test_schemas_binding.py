"""The CloudEvents Kafka binding: both modes in, optional attributes and extensions accepted and
ignored, everything else still refused, and the JSON Schemas saying the same."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import EVENT_TYPES, Event, InvalidEvent, decode, encode, to_binary
from schemas import strategies as events_st
from schemas.binding import CONTENT_TYPE_HEADER, structured_headers
from schemas.contracts import CONTRACTS_DIR, JSON_SCHEMA_DIR
from schemas.samples import example_lines

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SETTINGS = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
VALIDATORS = {
    event_type: jsonschema.Draft202012Validator(
        json.loads((CONTRACTS_DIR / JSON_SCHEMA_DIR / f"{event_type}.json").read_text())
    )
    for event_type in EVENT_TYPES
}
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

extension_names = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda name: (
        name not in {"specversion", "id", "source", "type", "subject", "time", "data"}
        and name not in {"datacontenttype", "dataschema"}
        # extensions the hub names and checks: trace context, proof of origin
        and name not in {"traceparent", "tracestate", "rpssig", "rpskeyid", "rpsvoucher"}
    )
)
extension_values = st.one_of(st.text(max_size=40), st.integers(-(2**31), 2**31 - 1), st.booleans())


def document_of(event: Event) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(encode(event))
    return document


def refusal(document: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        decode(orjson.dumps(document), now=NOW)
    except InvalidEvent as error:
        return [(problem.field, problem.rule) for problem in error.errors]
    raise AssertionError("the event was accepted")


@SETTINGS
@given(events_st.events(), st.dictionaries(extension_names, extension_values, max_size=4))
def test_extensions_are_accepted_ignored_and_allowed_by_the_schema(
    event: Event, extensions: dict[str, Any]
) -> None:
    """Any extension (a lower-case name, a string, integer or boolean) leaves the event as it
    was, is not written back out, and the event's JSON Schema allows it; the trace context
    (``traceparent``), which the hub carries on, is kept."""
    document = {
        **document_of(event),
        **extensions,
        "traceparent": TRACEPARENT,
        "partitionkey": "anything",
        "dataschema": f"urn:uk-gov-rps:schema:{event.type}",
        "datacontenttype": "application/json; charset=utf-8",
    }
    decoded = decode(orjson.dumps(document), now=NOW)
    traced = event.model_copy(update={"traceparent": TRACEPARENT})
    assert decoded == traced
    assert encode(decoded) == encode(traced)
    assert list(VALIDATORS[event.type].iter_errors(document)) == []


@SETTINGS
@given(events_st.events())
def test_binary_mode_accepts_extension_headers_and_a_charset(event: Event) -> None:
    """A binary-mode record with ``ce_traceparent`` and ``content-type: application/json;
    charset=utf-8`` decodes to the same event, its trace context kept."""
    value, headers = to_binary(event)
    headers = [h for h in headers if h[0] != "content-type"]
    headers += [
        ("ce_traceparent", TRACEPARENT.encode()),
        ("ce_partitionkey", b"k"),
        ("content-type", b"application/json; charset=utf-8"),
    ]
    assert decode(value, headers, now=NOW) == event.model_copy(update={"traceparent": TRACEPARENT})


@SETTINGS
@given(events_st.events())
def test_a_structured_content_type_means_structured_mode(event: Event) -> None:
    """With the structured ``content-type`` header, stray ``ce_*`` headers are not read as the
    envelope: the value is the whole event (as the Kafka binding says)."""
    headers = [*structured_headers(), ("ce_specversion", b"1.0"), ("ce_id", b"other")]
    assert decode(encode(event), headers, now=NOW) == event


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize(
    ("extra", "field", "rule"),
    [
        ({"ext": {"nested": 1}}, "*", "extension_type"),
        ({"ext": [1, 2]}, "*", "extension_type"),
        ({"ext": 1.5}, "*", "extension_type"),
        ({"dataschema": "not a uri"}, "*", "uri_format"),
        ({"dataschema": 7}, "*", "uri_format"),
        ({"Trace_Parent": TRACEPARENT}, "*", "extra_field"),
        ({"waytoolongforanextensionname": "x"}, "*", "extra_field"),
        ({"datacontenttype": "text/plain"}, "datacontenttype", "not_allowed"),
        (
            {"datacontenttype": "application/json; charset=latin-1"},
            "datacontenttype",
            "not_allowed",
        ),
    ],
)
def test_what_the_binding_does_not_allow_is_refused(
    event_type: str, extra: dict[str, Any], field: str, rule: str
) -> None:
    """An extension that is not a string, integer or boolean, a ``dataschema`` that is not an
    absolute URI, a name that breaks the extension naming rule and a non-JSON content type are
    refused with a precise rule, and the JSON Schema refuses them too. A name the contracts do
    not define is shown as ``*``: a sender's made-up name may be personal data."""
    document = {**orjson.loads(example_lines(event_type)[0]), **extra}
    assert refusal(document) == [(field, rule)]
    assert not VALIDATORS[event_type].is_valid(document)


@SETTINGS
@given(events_st.events(), st.from_regex(r"[a-z][a-z0-9]{0,19}", fullmatch=True))
def test_an_unknown_field_inside_data_is_still_refused(event: Event, name: str) -> None:
    """Extensions live in the envelope only: an unknown name inside ``data`` is ``extra_field``
    even while the envelope carries extensions."""
    document = {**document_of(event), "traceparent": TRACEPARENT}
    if name in document["data"]:
        return
    document["data"][name] = "surprise"
    assert refusal(document) == [("data.*", "extra_field")]  # a made-up name is not echoed
    assert not VALIDATORS[event.type].is_valid(document)


def test_the_structured_header_is_the_kafka_bindings() -> None:
    """The header every hub record carries names structured-mode CloudEvents JSON in UTF-8."""
    assert CONTENT_TYPE_HEADER == ("content-type", b"application/cloudevents+json; charset=utf-8")
    assert structured_headers() == [CONTENT_TYPE_HEADER]
    assert structured_headers() is not structured_headers()
