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

MAX_VERSION: Final = 2**63 - 1
"""The largest signed 64-bit integer: what SQLite, PostgreSQL's ``bigint`` and a Java ``long``
hold."""

Version = Annotated[int, Field(strict=True, ge=1, le=MAX_VERSION)]
"""A delivery version: it grows with every decision the hub takes about the resident, so it
only ever increases per (authority, resident, attribute); a subscriber keeps the highest.
At most 2^63-1, so every consumer's database can store it."""


class Envelope(ValueModel):
    """CloudEvents 1.0 attributes shared by every event (structured JSON mode)."""

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: str
    subject: str
    time: PastTimestamp
    datacontenttype: Literal["application/json"] = "application/json"
