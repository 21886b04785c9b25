"""The CloudEvents 1.0 envelope every event model shares, and the small types events reuse."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from schemas._rules import fail, matcher
from schemas.attributes import AttributeName, PastTimestamp, ValueModel
from schemas.ids import AUTHORITY_PATTERN, UUID_PATTERN, EventId, Source

LOCAL_REFERENCE_PATTERN: Final = r"^[A-Za-z0-9/_.-]{1,64}$"

LocalReference = Annotated[
    str,
    AfterValidator(
        matcher(
            LOCAL_REFERENCE_PATTERN, "pattern", "must be 1-64 characters of A-Z a-z 0-9 / _ . -"
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_REFERENCE_PATTERN,
            "description": "The authority's own reference for the resident (an account number).",
        }
    ),
]
"""The authority's own reference for a resident, carried back on every delivery to it."""

SUBJECT_PATTERN: Final = f"({UUID_PATTERN})|({AUTHORITY_PATTERN})"
AuditSubject = Annotated[
    str,
    AfterValidator(
        matcher(SUBJECT_PATTERN, "subject_format", "must be a resident id or an authority id")
    ),
    WithJsonSchema({"type": "string", "pattern": SUBJECT_PATTERN}),
]
"""An audit record's key: the resident's hub id, or the authority for subscription decisions."""


def _unique(values: list[AttributeName]) -> list[AttributeName]:
    if len(set(values)) != len(values):
        raise fail("duplicate", "must not name an attribute twice")
    return values


AttributeList = Annotated[
    list[AttributeName],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]
"""A non-empty list of distinct attribute names."""

Version = Annotated[int, Field(strict=True, ge=1)]
"""A delivery version: it grows with every decision the hub takes about the resident, so it
only ever increases per (authority, resident, attribute); a subscriber keeps the highest."""


TRACEPARENT_PATTERN: Final = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
TraceParent = Annotated[
    str,
    AfterValidator(
        matcher(TRACEPARENT_PATTERN, "pattern", "must be a W3C traceparent (version 00)")
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TRACEPARENT_PATTERN,
            "description": "CloudEvents distributed tracing: the W3C traceparent.",
        }
    ),
]
TraceState = Annotated[
    str,
    Field(max_length=512),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 512,
            "description": "CloudEvents distributed tracing: the W3C tracestate.",
        }
    ),
]


def _absent(value: object) -> bool:
    return value is None


class Envelope(ValueModel):
    """CloudEvents 1.0 attributes shared by every event (structured JSON mode)."""

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: str
    subject: str
    time: PastTimestamp
    datacontenttype: Literal["application/json"] = "application/json"
    # The CloudEvents distributed-tracing extension (W3C trace context); left out when absent.
    traceparent: TraceParent | None = Field(default=None, exclude_if=_absent)
    tracestate: TraceState | None = Field(default=None, exclude_if=_absent)
