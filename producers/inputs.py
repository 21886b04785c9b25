"""What publishers hand us, turned into validated inbound events: a CloudEvent or the simple form.

``rps publish`` lines and gateway request bodies come in one of two shapes:

* a CloudEvent in structured JSON mode (it has ``specversion``), taken as it is;
* the simple form of a verified attribute, the SDK's arguments as JSON::

      {"resident": "<hub id>", "attribute": "email", "value": "a@example.com",
       "assurance": "low", "method": "self_asserted", "verified_at": "2025-02-01T19:45:09Z"}

  with an optional ``id``; we fill ``id``, ``time``, ``source`` and ``type``.
  Without an ``id`` the event id is derived from the line's content and the
  source (:func:`simple_event_id`), and ``time`` is ``verified_at`` (when the
  verification happened), so the same line sent twice, from a file sent again
  or a batch retried, is the very same event: the worker sees a duplicate, never
  a second claim.

When a publisher ``source`` is known (the gateway caller's, or ``--source``), a
CloudEvent naming another source is refused before anything else is looked at,
and so is any type a publisher may not send.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

import orjson

from producers import events as build
from producers.errors import InvalidInput, NotPublishable, SourceMismatch
from producers.routing import PUBLISHABLE_TYPES
from schemas import (
    ATTRIBUTE_VERIFIED,
    MAX_BYTES,
    ROOT,
    Event,
    FieldError,
    InvalidEvent,
    parse,
    shown_name,
)
from schemas.ids import EVENT_ID_PATTERN

SIMPLE_FIELDS: Final = ("resident", "attribute", "value", "assurance", "method", "verified_at")
SIMPLE_FORM_IDS: Final = uuid.UUID("5b0c7f2e-4d61-5a8e-9c3b-2f7e1d6a0b94")
"""The UUID namespace of event ids derived from simple-form lines (fixed: ids must not change)."""
"""The fields of the simple form; ``id`` may be given too."""

_SIMPLE_OPTIONAL: Final = ("id",)

RETRACTION_FIELDS: Final = ("resident", "claim_id", "attribute", "reason")
"""The fields of a retraction request; ``id`` may be given too."""
_EVENT_ID: Final = re.compile(EVENT_ID_PATTERN)


def read_line(line: bytes, *, source: str | None, now: dt.datetime) -> Event:
    """The event in one line of JSON (either form), or an :class:`EventRejected` saying why not."""
    if len(line) > MAX_BYTES:
        raise InvalidInput((FieldError(ROOT, "too_large", f"must be at most {MAX_BYTES} bytes"),))
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise InvalidInput((FieldError(ROOT, "not_json", "must be a JSON document"),)) from None
    return read_document(document, source=source, now=now)


def read_document(document: Any, *, source: str | None, now: dt.datetime) -> Event:
    """The event in an already-parsed JSON document (either form)."""
    if not isinstance(document, Mapping):
        raise InvalidInput((FieldError(ROOT, "wrong_type", "must be a JSON object"),))
    if "specversion" in document:
        return _cloudevent(document, source=source, now=now)
    return _simple(document, source=source, now=now)


def _cloudevent(document: Mapping[str, Any], *, source: str | None, now: dt.datetime) -> Event:
    event_id = _safe_id(document.get("id"))
    if source is not None and document.get("source") != source:
        raise SourceMismatch(event_id)
    kind = document.get("type")
    if isinstance(kind, str) and kind.startswith("uk.gov.rps.") and kind not in PUBLISHABLE_TYPES:
        raise NotPublishable(event_id)
    try:
        return parse(document, now=now)
    except InvalidEvent as error:
        raise InvalidInput(error.errors, error.event_id) from None


def _simple(document: Mapping[str, Any], *, source: str | None, now: dt.datetime) -> Event:
    errors = _unknown(document, (*SIMPLE_FIELDS, *_SIMPLE_OPTIONAL), "the simple form")
    errors += [
        FieldError(name, "required", "is required")
        for name in SIMPLE_FIELDS
        if name not in document
    ]
    if source is None:
        errors.append(
            FieldError(
                "source",
                "required",
                "is required for the simple form: set RPS_PUBLISHER_SOURCE or --source",
            )
        )
    event_id = document.get("id")
    if errors or source is None:
        raise InvalidInput(tuple(errors), _safe_id(event_id))
    try:
        return build.build(
            ATTRIBUTE_VERIFIED,
            source=source,
            subject=document["resident"],
            data={
                "attribute": document["attribute"],
                "value": document["value"],
                "assurance": document["assurance"],
                "method": document["method"],
                "verified_at": document["verified_at"],
            },
            now=now,
            event_id=simple_event_id(document, source) if event_id is None else event_id,
            time=document["verified_at"],
        )
    except InvalidInput as error:
        # ``time`` is ``verified_at``: its errors are verified_at's, already named
        named = tuple(_simple_field(e) for e in error.errors if e.field != "time")
        raise InvalidInput(named, _safe_id(event_id)) from None  # only an id the caller gave


def simple_event_id(document: Mapping[str, Any], source: str) -> str:
    """The event id of a simple-form line without ``id``: a UUID (version 5) of its content.

    The content is the canonical JSON (keys sorted, no spaces) of the line's
    fields and the publisher's source, so neither key order nor spacing
    changes it, while any change of fact or of publisher does.
    """
    content = {name: document.get(name) for name in SIMPLE_FIELDS} | {"source": source}
    canonical = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return str(uuid.uuid5(SIMPLE_FORM_IDS, canonical))


def read_retraction(document: Any, *, source: str, now: dt.datetime) -> Event:
    """An ``attribute.retracted`` event from ``{"resident", "claim_id", "attribute", "reason"}``.

    An ``id`` may be given too, so that a retried request keeps its event id.
    """
    if not isinstance(document, Mapping):
        raise InvalidInput((FieldError(ROOT, "wrong_type", "must be a JSON object"),))
    errors = _unknown(document, (*RETRACTION_FIELDS, "id"), "a retraction")
    errors += [
        FieldError(name, "required", "is required")
        for name in RETRACTION_FIELDS
        if name not in document
    ]
    event_id = document.get("id")
    if errors:
        raise InvalidInput(tuple(errors), _safe_id(event_id))
    try:
        return build.retracted(
            source=source,
            resident=document["resident"],
            claim_id=document["claim_id"],
            attribute=document["attribute"],
            reason=document["reason"],
            now=now,
            event_id=event_id,
        )
    except InvalidInput as error:
        named = tuple(_simple_field(e) for e in error.errors)
        raise InvalidInput(named, _safe_id(event_id)) from None  # only an id the caller gave


def _unknown(document: Mapping[str, Any], known: tuple[str, ...], form: str) -> list[FieldError]:
    """One error per unknown field, named only when the contracts define that name.

    A made-up key may be personal data (an email address used as a key), so it
    is shown as ``*``, and any number of such keys make one error.
    """
    names = (shown_name(str(name)) for name in document if name not in known)
    return [
        FieldError(name, "extra_field", f"is not a field of {form}")
        for name in dict.fromkeys(names)
    ]


def _simple_field(error: FieldError) -> FieldError:
    """The field as the simple form names it: ``subject`` is ``resident``, ``data.x`` is ``x``."""
    field = error.field
    if field == "subject":
        field = "resident"
    elif field.startswith("data."):
        field = field[len("data.") :]
    return FieldError(field, error.rule, error.message)


def _safe_id(candidate: Any) -> str | None:
    """The event id when it is well formed (so never anything else a sender put there)."""
    return candidate if isinstance(candidate, str) and _EVENT_ID.fullmatch(candidate) else None
