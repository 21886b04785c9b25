"""Identifiers: residents, authorities, publishers (sources) and events.

Residents are opaque hub ids (canonical lowercase UUIDs, never an NI or NHS
number). Authorities are 9-character GSS codes (``E08000012`` is Liverpool) or
``urn:org:<name>`` for central bodies (``urn:org:dwp``). A CloudEvents
``source`` names the publisher: ``urn:gss:<GSS code>`` for a council,
``urn:org:<name>`` for everyone else; the hub itself is ``urn:org:rps-hub``.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

from schemas._rules import matcher

GSS_PATTERN: Final = r"^[EWSN][0-9]{8}$"
ORG_PATTERN: Final = r"^urn:org:[a-z0-9][a-z0-9-]{0,62}$"
AUTHORITY_PATTERN: Final = r"^([EWSN][0-9]{8}|urn:org:[a-z0-9][a-z0-9-]{0,62})$"
SOURCE_PATTERN: Final = r"^urn:(gss:[EWSN][0-9]{8}|org:[a-z0-9][a-z0-9-]{0,62})$"
UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9._:-]{1,128}$"
CODE_PATTERN: Final = r"^[a-z0-9_]{1,64}$"

HUB_SOURCE: Final = "urn:org:rps-hub"
"""The ``source`` of every event the hub itself writes (deliveries and audit records)."""


def _string(pattern: str, description: str, **extra: object) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description, **extra}
    )


GssCode = Annotated[
    str,
    AfterValidator(matcher(GSS_PATTERN, "gss_format", "must be a 9-character GSS code")),
    _string(GSS_PATTERN, "A 9-character GSS code, e.g. E08000012 (Liverpool)."),
]
"""A GSS code: a country letter and eight digits."""

AuthorityId = Annotated[
    str,
    AfterValidator(
        matcher(AUTHORITY_PATTERN, "authority_format", "must be a GSS code or urn:org:<name>")
    ),
    _string(
        AUTHORITY_PATTERN, "A GSS code for a local authority, urn:org:<name> for a central body."
    ),
]
"""A subscribing or consenting authority: a GSS code or ``urn:org:<name>``."""

Source = Annotated[
    str,
    AfterValidator(
        matcher(SOURCE_PATTERN, "source_format", "must be urn:gss:<GSS code> or urn:org:<name>")
    ),
    _string(SOURCE_PATTERN, "The publisher: urn:gss:<GSS code> or urn:org:<name>."),
]
"""A CloudEvents ``source``: the publisher of an event."""

ResidentId = Annotated[
    str,
    AfterValidator(matcher(UUID_PATTERN, "uuid_format", "must be a lowercase UUID")),
    _string(UUID_PATTERN, "The resident's opaque hub id: a canonical lowercase UUID."),
]
"""A resident's opaque hub id."""

Pseudonym = Annotated[
    str,
    AfterValidator(matcher(UUID_PATTERN, "uuid_format", "must be a lowercase UUID")),
    _string(UUID_PATTERN, "The authority's pairwise pseudonym for the resident (UUID-shaped)."),
]
"""What an authority knows a resident by on its delivery topic: never the hub id."""

EventId = Annotated[
    str,
    AfterValidator(
        matcher(EVENT_ID_PATTERN, "pattern", "must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    ),
    _string(
        EVENT_ID_PATTERN, "An event id: 1-128 characters of A-Z a-z 0-9 . _ : -", maxLength=128
    ),
]
"""A CloudEvents ``id`` (also used for claim ids and decision ids)."""

Code = Annotated[
    str,
    AfterValidator(matcher(CODE_PATTERN, "pattern", "must be 1-64 characters of a-z 0-9 _")),
    _string(CODE_PATTERN, "A short machine code: 1-64 characters of a-z 0-9 _", maxLength=64),
]
"""A short machine code such as ``council_tax_record`` or ``no_consent``."""

_GSS = re.compile(GSS_PATTERN)
_ORG = re.compile(ORG_PATTERN)


def authority_of_source(source: str) -> str:
    """The authority that publishes as ``source``: ``urn:gss:E08000012`` -> ``E08000012``."""
    if source.startswith("urn:gss:") and _GSS.match(source[8:]):
        return source[8:]
    if _ORG.match(source):
        return source
    raise ValueError("source must be urn:gss:<GSS code> or urn:org:<name>")


def source_of_authority(authority: str) -> str:
    """The ``source`` an authority publishes as: ``E08000012`` -> ``urn:gss:E08000012``."""
    if _GSS.match(authority):
        return f"urn:gss:{authority}"
    if _ORG.match(authority):
        return authority
    raise ValueError("authority must be a 9-character GSS code or urn:org:<name>")
