"""The CloudEvents 1.0 envelope every event model shares, and the small types events reuse."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from schemas._rules import fail, matcher
from schemas.attributes import AttributeName, PastTimestamp, ValueModel
from schemas.binding import (
    DATA_CONTENT_TYPE_PATTERN,
    DATASCHEMA_PATTERN,
    EXTENSION_NAME_PATTERN,
    is_dataschema,
    is_extension_value,
    is_json_content_type,
    split_extensions,
)
from schemas.ids import AUTHORITY_PATTERN, SOURCE_PATTERN, UUID_PATTERN, EventId, Source

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


def _json_media_type(value: Any) -> Any:
    """``application/json`` for any way of saying JSON in UTF-8; anything else as it came."""
    return "application/json" if is_json_content_type(value) else value


DataContentType = Annotated[
    Literal["application/json"],
    BeforeValidator(_json_media_type),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DATA_CONTENT_TYPE_PATTERN,
            "default": "application/json",
            "description": "JSON; a charset parameter, when given, must be UTF-8.",
        }
    ),
]
"""The data's media type: always JSON; ``; charset=utf-8`` is accepted and dropped."""

_EXTENSIONS_SCHEMA: Final = {
    "properties": {
        "dataschema": {
            "type": "string",
            "pattern": DATASCHEMA_PATTERN,
            "description": "Optional CloudEvents attribute, accepted and ignored: an absolute URI.",
        }
    },
    "patternProperties": {
        # Every extension name but "data", which has a schema of its own.
        "^(?!data$)" + EXTENSION_NAME_PATTERN.removeprefix("^"): {
            "type": ["string", "integer", "boolean"],
            "description": "A CloudEvents extension (traceparent, partitionkey...): accepted "
            "and ignored.",
        }
    },
}


def _extensions_schema(schema: dict[str, Any]) -> None:
    schema.setdefault("properties", {}).update(_EXTENSIONS_SCHEMA["properties"])
    schema["patternProperties"] = _EXTENSIONS_SCHEMA["patternProperties"]


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


class Envelope(ValueModel):
    """CloudEvents 1.0 attributes shared by every event (structured JSON mode).

    Optional attributes the hub does not use (``dataschema``) and extensions
    (``traceparent``, ``partitionkey``, any name of 1-20 lower-case letters and
    digits) are accepted, checked for their type, and not kept: re-encoding the
    event leaves them out. Any other unknown field is refused.
    """

    model_config = ConfigDict(json_schema_extra=_extensions_schema)

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: str
    subject: str
    time: PastTimestamp
    datacontenttype: DataContentType = "application/json"
    # The CloudEvents distributed-tracing extension (W3C trace context); left out when absent.
    traceparent: TraceParent | None = Field(default=None, exclude_if=lambda value: value is None)
    tracestate: TraceState | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="before")
    @classmethod
    def _ignore_extensions(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kept, extensions = split_extensions(data, cls.model_fields)
        for name, value in extensions.items():
            if name == "dataschema":
                if not is_dataschema(value):
                    raise fail("uri_format", "must be an absolute URI", name)
            elif not is_extension_value(value):
                raise fail("extension_type", "must be a string, integer or boolean", name)
        return kept


# Proof of origin (see schemas/signing.py) -----------------------------------------------------

KEY_ID_PATTERN: Final = (
    r"^urn:(gss:[EWSN][0-9]{8}|org:[a-z0-9][a-z0-9-]{0,62})#[A-Za-z0-9._-]{1,64}$"
)
SIGNATURE_PATTERN: Final = r"^[A-Za-z0-9_-]{86}$"


def _schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


KeyIdText = Annotated[
    str, AfterValidator(matcher(KEY_ID_PATTERN, "key_id_format", "must be <source>#<label>"))
]
"""A key id: the owning publisher's source, ``#``, a label (``urn:gss:E08000012#2026-12a``)."""

_SignatureText = Annotated[
    str,
    AfterValidator(
        matcher(
            SIGNATURE_PATTERN,
            "signature_format",
            "must be an Ed25519 signature in base64url (86 characters)",
        )
    ),
]
_VoucherText = Annotated[
    str,
    AfterValidator(
        matcher(SOURCE_PATTERN, "source_format", "must be urn:gss:<GSS code> or urn:org:<name>")
    ),
]

# Optional, but never null on the wire (an unset extension is left out), hence the schemas.
Signature = Annotated[
    _SignatureText | None,
    _schema(SIGNATURE_PATTERN, "Ed25519 signature of the canonical event, base64url, no padding."),
]
KeyId = Annotated[
    KeyIdText | None,
    _schema(KEY_ID_PATTERN, "The signing key: the owning publisher's source, '#', a label."),
]
Voucher = Annotated[
    _VoucherText | None,
    _schema(SOURCE_PATTERN, "Set when the gateway signs for the publisher: the gateway's source."),
]


def _absent() -> Any:
    """An optional extension, left out of the JSON when not set (unsigned events stay as were)."""
    return Field(default=None, exclude_if=lambda value: value is None)


class InboundEnvelope(Envelope):
    """An inbound event's envelope: the shared attributes plus the signature extensions."""

    rpssig: Signature = _absent()
    rpskeyid: KeyId = _absent()
    rpsvoucher: Voucher = _absent()
