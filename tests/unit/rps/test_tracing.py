"""Trace context as the CloudEvents distributed-tracing extension: read from either mode,
never part of an event's fingerprint, exporting off unless the OTEL_* variables ask."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace

import schemas
from rps import tracing
from streams.core import Claim
from streams.worker import codec
from tests.unit.producers.support import SOURCE, simple

NOW = dt.datetime.now(dt.UTC)
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_context_is_read_from_a_structured_or_a_binary_record() -> None:
    """``traceparent``/``tracestate`` come from the JSON (structured) or ``ce_`` headers."""
    structured = (
        b'{"specversion":"1.0","traceparent":"' + PARENT.encode() + b'","tracestate":"a=1"}'
    )
    assert tracing.of_record(structured) == (PARENT, "a=1")
    assert tracing.of_record(b"{}", [("ce_traceparent", PARENT.encode())]) == (PARENT, None)
    assert tracing.of_record(b'{"traceparent":"not-a-traceparent"}') == (None, None)
    assert tracing.of_record(None) == (None, None)


def test_a_carried_context_becomes_the_parent() -> None:
    """The context an event carries is the parent of the spans started under it."""
    assert tracing.current(tracing.context_of(PARENT)) == (PARENT, None)
    assert tracing.current(tracing.context_of(None)) == (None, None)


def test_the_trace_context_is_not_part_of_an_events_fingerprint() -> None:
    """The same event resent under another trace is the same event (not an id reused)."""
    from producers.inputs import read_document

    event = read_document(simple(), source=SOURCE, now=NOW)
    traced = event.model_copy(update={"traceparent": PARENT, "tracestate": "a=1"})
    assert b"traceparent" not in schemas.encode(event)  # absent, not null
    assert b"traceparent" in schemas.encode(traced)
    assert schemas.decode(schemas.encode(traced)).traceparent == PARENT
    first, second = codec.to_fact(event), codec.to_fact(traced)
    assert isinstance(first, Claim)
    assert isinstance(second, Claim)
    assert first.digest == second.digest


def test_a_malformed_traceparent_is_refused_by_the_contract() -> None:
    """A traceparent that is not W3C version 00 is a contract error naming the field."""
    from producers.inputs import read_document

    event = read_document(simple(), source=SOURCE, now=NOW)
    document = {**event.model_dump(mode="json"), "traceparent": "01-xyz"}
    with pytest.raises(schemas.InvalidEvent) as refused:
        schemas.decode(orjson.dumps(document))
    assert any(error.field == "traceparent" for error in refused.value.errors)


def test_exporting_is_off_unless_the_otel_variables_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTEL_* variable: no exporter; OTEL_TRACES_EXPORTER or an OTLP endpoint: one;
    OTEL_SDK_DISABLED=true: none whatever else is set."""
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    assert tracing._wanted() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing._wanted() == "otlp"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing._wanted() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert tracing._wanted() == "console"
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing._wanted() is None


_HEX = "0123456789abcdef"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(["0" * 32, "f" * 32]) | st.text(_HEX, min_size=32, max_size=32),
            st.sampled_from(["0" * 16]) | st.text(_HEX, min_size=16, max_size=16),
            st.sampled_from(["00", "01", "ff"]) | st.text(_HEX, min_size=2, max_size=2),
        ).map(lambda parts: "00-" + "-".join(parts)),
    )
)
def test_with_nothing_exporting_the_worker_passes_on_what_a_no_op_span_would(
    parent: str | None,
) -> None:
    """No exporter: no span is made, and the traceparent passed on is the one a no-op span
    started under the inbound context passes on. (The process may have a provider installed
    by another test: both sides are made to see none.)"""
    within = trace.NoOpTracer()
    with within.start_as_current_span("decide", context=tracing.context_of(parent)):
        expected = tracing.current()[0]
    with (
        mock.patch.object(trace, "get_tracer_provider", trace.NoOpTracerProvider),
        tracing.continued(within, "decide", (parent, "a=1"), {"rps.event_id": "e1"}) as passed,
    ):
        assert passed == expected
