"""Bytes and headers in, a typed event (or a precise, value-free error) out; and back again.

``decode`` accepts CloudEvents in structured JSON mode (the whole event is the
message value) and in Kafka binary mode (``ce_*`` headers carry the envelope,
the value is the data), telling them apart as the Kafka binding says
(``schemas.binding``). Optional attributes and extensions are accepted and
ignored in both modes. It refuses a value over :data:`MAX_BYTES` or nested
deeper than :data:`MAX_DEPTH` before any model sees it, parses the JSON once,
then validates with the event type's model. Every failure is an
:class:`InvalidEvent` listing :class:`FieldError` values that name the field
and rule but never the submitted value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
from pydantic import ValidationError

from schemas._errors import ROOT, FieldError, describe, field_errors
from schemas.events import MODELS, Event

MAX_BYTES: Final = 64 * 1024
"""The largest message value accepted (64 KiB)."""

MAX_DEPTH: Final = 16
"""The deepest JSON nesting accepted; a real event nests four levels at most."""

_ENVELOPE: Final = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "traceparent",
    "tracestate",
)
_EXTENSIONS: Final = ("rpssig", "rpskeyid", "rpsvoucher")  # schemas/signing.py
_CONTAINERS: Final = (dict, list)
_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class SchemaError(Exception):
    """Root of the errors this package raises."""


class InvalidEvent(SchemaError):
    """A message that breaks the contract: a poison message, never worth retrying."""

    def __init__(self, event_id: str | None, errors: Sequence[FieldError]) -> None:
        self.event_id = event_id
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__(self._describe())

    def _describe(self) -> str:
        which = f"event {self.event_id}" if self.event_id else "event (id unknown)"
        return f"invalid {which}: {describe(self.errors)}"

    def __str__(self) -> str:
        return self._describe()


def decode(
    value: bytes, headers: Sequence[tuple[str, bytes]] = (), *, now: dt.datetime | None = None
) -> Event:
    """The event in ``value`` (structured mode) or in ``headers`` plus ``value`` (binary mode).

    ``now`` is the instant "not in the future" is measured against; it defaults
    to the current UTC time and five minutes of clock skew are allowed.
    """
    return decode_with_document(value, headers, now=now)[0]


def decode_with_document(
    value: bytes, headers: Sequence[tuple[str, bytes]] = (), *, now: dt.datetime | None = None
) -> tuple[Event, dict[str, Any]]:
    """The event, as :func:`decode` gives it, and the CloudEvent as one JSON object as it came
    off the wire (what ``schemas.signing.wire_document`` gives), parsed once for both."""
    envelope = _binary_envelope(headers)
    event_id = envelope.get("id") if envelope is not None else None
    if len(value) > MAX_BYTES:
        raise _invalid(event_id, ROOT, "too_large", f"must be at most {MAX_BYTES} bytes")
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise _invalid(event_id, ROOT, *_json_failure(str(error))) from None
    if envelope is not None:
        document = {**envelope, "data": document}
    elif isinstance(document, dict):
        event_id = document.get("id")
    if _too_deep(document):
        raise _invalid(_safe_id(event_id), ROOT, "too_deep", f"must nest at most {MAX_DEPTH} deep")
    return parse(document, now=now), document


def parse(document: Any, *, now: dt.datetime | None = None) -> Event:
    """The event in an already-parsed JSON document (a dict), or :class:`InvalidEvent`."""
    if not isinstance(document, Mapping):
        raise _invalid(None, ROOT, "wrong_type", "must be a JSON object")
    event_id = _safe_id(document.get("id"))
    kind = document.get("type")
    if kind is None:
        raise _invalid(event_id, "type", "required", "is required")
    if not isinstance(kind, str):
        raise _invalid(event_id, "type", "wrong_type", "has the wrong JSON type")
    model = MODELS.get(kind)
    if model is None:
        raise _invalid(
            event_id, "type", "unknown_type", "is not a known event type and major version"
        )
    context = {"now": now if now is not None else dt.datetime.now(dt.UTC)}
    try:
        return model.model_validate(document, context=context)
    except ValidationError as error:
        raise InvalidEvent(event_id, field_errors(error)) from None


def check(
    value: bytes, headers: Sequence[tuple[str, bytes]] = (), *, now: dt.datetime | None = None
) -> Event | InvalidEvent:
    """Like :func:`decode`, but returns the error instead of raising it."""
    try:
        return decode(value, headers, now=now)
    except InvalidEvent as error:
        return error


def encode(event: Event) -> bytes:
    """Structured-mode CloudEvents JSON: UTF-8, compact, fields in a stable order."""
    return event.model_dump_json().encode()


def to_binary(event: Event) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Kafka binary mode: the data as the value, the envelope as ``ce_*`` headers."""
    envelope = event.model_dump(mode="json", exclude={"data", "datacontenttype"})
    headers = [
        (f"ce_{name}", str(envelope[name]).encode())
        for name in (*_ENVELOPE, *_EXTENSIONS)
        if name in envelope
    ]
    headers.append(("content-type", event.datacontenttype.encode()))
    return orjson.dumps(event.model_dump(mode="json")["data"]), headers


def _binary_envelope(headers: Sequence[tuple[str, bytes]]) -> dict[str, Any] | None:
    """The envelope carried by ``ce_*`` headers, or ``None`` when the message is structured.

    As the Kafka binding says: a ``content-type`` of ``application/cloudevents...`` means
    structured mode whatever other headers there are; otherwise ``ce_specversion`` means
    binary mode; a record with neither is read as structured.
    """
    if any(_is_structured_content_type(name, raw) for name, raw in headers):
        return None
    if not any(name == "ce_specversion" for name, _ in headers):
        return None
    envelope: dict[str, Any] = {}
    for name, raw in headers:
        if name.startswith("ce_"):
            attribute = name[3:]
        elif name.lower() == "content-type":
            attribute = "datacontenttype"
        else:
            continue
        try:
            text = bytes(raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(None, attribute, "not_utf8", "header must be UTF-8") from None
        envelope[attribute] = text
    return envelope


def _is_structured_content_type(name: str, raw: bytes | None) -> bool:
    return name.lower() == "content-type" and bytes(raw or b"").lower().startswith(
        b"application/cloudevents"
    )


def _json_failure(reason: str) -> tuple[str, str]:
    lowered = reason.lower()
    if "utf-8" in lowered or "utf8" in lowered:
        return "not_utf8", "must be UTF-8"
    if "depth" in lowered or "recursion" in lowered:
        return "too_deep", f"must nest at most {MAX_DEPTH} deep"
    return "not_json", "must be a JSON document"


def _too_deep(node: Any, room: int = MAX_DEPTH) -> bool:
    """Whether ``node`` nests objects and arrays more than ``room`` levels deep."""
    kind = type(node)
    if kind is dict:
        children = node.values()
    elif kind is list:
        children = node
    else:
        return False
    if room == 0:
        return True
    return any(type(child) in _CONTAINERS and _too_deep(child, room - 1) for child in children)


def _safe_id(candidate: Any) -> str | None:
    """The event id when it is well formed (so never anything else a sender put there)."""
    if isinstance(candidate, str) and _ID.fullmatch(candidate):
        return candidate
    return None


def _invalid(event_id: Any, field: str, rule: str, message: str) -> InvalidEvent:
    return InvalidEvent(_safe_id(event_id), (FieldError(field, rule, message),))
