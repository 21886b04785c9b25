"""W3C trace context through the hub, as the CloudEvents distributed-tracing extension.

A publish (the SDK, the gateway) runs in a ``publish`` span and writes the
span's context into the event's ``traceparent`` and ``tracestate``
attributes; the worker decides in a ``decide`` span, child of the input's
context, and writes that span's context into every delivery it causes; the
subscriber applies each delivery in an ``apply`` span, child of the
delivery's. With no exporter configured the spans are OpenTelemetry's
no-ops (the worker makes none: :func:`continued`), and the context still
passes on unchanged.

Exporting is off by default and switched on by the standard variables:
``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``; ``none`` keeps it off) or an
``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``, with ``OTEL_SERVICE_NAME`` and the
exporter's own ``OTEL_EXPORTER_OTLP_*`` settings; ``OTEL_SDK_DISABLED=true``
keeps it off whatever else is set. Span attributes are ids and names only.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import context, propagate, trace

__all__ = [
    "TRACEPARENT",
    "configure",
    "context_of",
    "continued",
    "current",
    "of_record",
    "tracer",
]

Trace = tuple[str | None, str | None]
"""A W3C ``(traceparent, tracestate)``."""

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
"""The W3C ``traceparent`` form (version 00) the envelope accepts."""


_IN_JSON = re.compile(rb'"traceparent"\s*:\s*"(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"')
_STATE_IN_JSON = re.compile(rb'"tracestate"\s*:\s*"([^"\\]{1,512})"')


def of_record(value: bytes | None, headers: Iterable[tuple[str, bytes]] | None = ()) -> Trace:
    """The ``(traceparent, tracestate)`` of a record, structured (in the JSON) or binary
    (``ce_traceparent`` headers), found without decoding it; ``(None, None)`` when absent."""
    found = {name: bytes(raw) for name, raw in headers or () if name.startswith("ce_trace")}
    if "ce_traceparent" in found:
        parent = found["ce_traceparent"].decode("ascii", "replace")
        if TRACEPARENT.match(parent):
            state = found.get("ce_tracestate")
            return parent, state.decode("utf-8", "replace") if state else None
    parent_match = _IN_JSON.search(value or b"")
    if parent_match is None:
        return None, None
    state_match = _STATE_IN_JSON.search(value or b"")
    return (
        parent_match.group(1).decode(),
        state_match.group(1).decode("utf-8", "replace") if state_match else None,
    )


def _wanted() -> str | None:
    """Which exporter the standard variables ask for, or None for none."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen:
        return None if chosen == "none" else chosen.split(",")[0]
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    ):
        return "otlp"
    return None


def configure(service: str) -> None:
    """Install an exporting tracer provider when the OTEL_* variables ask for one."""
    exporter_name = _wanted()
    if exporter_name is None:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    exporter: SpanExporter
    if exporter_name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    name = os.environ.get("OTEL_SERVICE_NAME") or f"rps-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


_NO_PROVIDER = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_NO_ID = re.compile(r"^00-(0{32}-[0-9a-f]{16}|[0-9a-f]{32}-0{16})-[0-9a-f]{2}$")


@contextlib.contextmanager
def continued(
    within: trace.Tracer, name: str, inbound: Trace, values: Mapping[str, Any]
) -> Iterator[str | None]:
    """A span ``name`` child of the ``inbound`` trace; yields the ``traceparent`` to pass on.

    With no tracer provider installed (:func:`configure` installs one when asked)
    a span would be a no-op that passes the inbound context on unchanged, so none
    is made and the inbound ``traceparent`` (when the W3C propagator would accept
    it) is passed on as it is: the same value, for a twelfth of the cost on the
    worker's per-event path."""
    if isinstance(trace.get_tracer_provider(), _NO_PROVIDER):
        parent = inbound[0]
        yield None if parent is None or _NO_ID.match(parent) else parent
        return
    with within.start_as_current_span(
        name, context=context_of(*inbound), attributes=attributes(values)
    ):
        yield current()[0]


def tracer(name: str) -> trace.Tracer:
    """The tracer of one component (a no-op until :func:`configure` installs a provider)."""
    return trace.get_tracer(name)


def context_of(traceparent: str | None, tracestate: str | None = None) -> context.Context:
    """The context an event's ``traceparent``/``tracestate`` carry (empty when none)."""
    if not traceparent:
        return context.Context()
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return propagate.extract(carrier, context=context.Context())


def current(within: context.Context | None = None) -> tuple[str | None, str | None]:
    """The ``(traceparent, tracestate)`` of the current span (or of ``within``), if valid."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=within)
    return carrier.get("traceparent"), carrier.get("tracestate") or None


def attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Span attributes without empty values (ids and names only, never a personal value)."""
    return {key: value for key, value in values.items() if value not in (None, "")}
