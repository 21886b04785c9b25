"""How a CloudEvent sits in a Kafka record (the CloudEvents Kafka protocol binding 1.0).

The hub writes every event it produces in *structured* mode: the whole event is
the record's value, and the ``content-type`` header says so
(:data:`CONTENT_TYPE_HEADER`). Without that header the binding tells a receiver
to read the record in *binary* mode, so an SDK that follows it (the CloudEvents
Java SDK, say) could not read the hub's records. On input the hub accepts both
modes (``schemas.validation.decode``).

An event may carry optional attributes and extensions the hub does not use
(``dataschema``, ``traceparent``, ``partitionkey``...): the specification asks a
receiver to accept and ignore them. :func:`split_extensions` takes them out of
an envelope before the model sees it, so the models stay closed to anything
else (an unknown name that breaks the extension naming rule, any unknown field
inside ``data``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Final

STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
"""The media type of a structured-mode record's value."""

CONTENT_TYPE_HEADER: Final[tuple[str, bytes]] = (
    "content-type",
    STRUCTURED_CONTENT_TYPE.encode(),
)
"""The header every record the hub writes carries: structured mode, JSON, UTF-8."""

EXTENSION_NAME_PATTERN: Final = "^[a-z0-9]{1,20}$"
"""An extension attribute's name: lower-case ASCII letters and digits, at most 20 of them."""

DATASCHEMA_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]{1,2040}$"
"""``dataschema``: an absolute URI (a scheme, a colon, no white space), at most 2 KiB."""

DATA_CONTENT_TYPE_PATTERN: Final = (
    r"^application/json(\s*;\s*[Cc][Hh][Aa][Rr][Ss][Ee][Tt]=\"?[Uu][Tt][Ff]-8\"?)?$"
)
"""``datacontenttype``: JSON, with or without ``; charset=utf-8``."""

_EXTENSION_NAME: Final = re.compile(EXTENSION_NAME_PATTERN)
_DATASCHEMA: Final = re.compile(DATASCHEMA_PATTERN)
_DATA_CONTENT_TYPE: Final = re.compile(DATA_CONTENT_TYPE_PATTERN)


def structured_headers() -> list[tuple[str, bytes]]:
    """A fresh header list for a structured-mode record: ``[CONTENT_TYPE_HEADER]``."""
    return [CONTENT_TYPE_HEADER]


def is_extension_name(name: str) -> bool:
    """Whether ``name`` may be a CloudEvents extension attribute."""
    return _EXTENSION_NAME.fullmatch(name) is not None


def is_dataschema(value: object) -> bool:
    """Whether ``value`` is a ``dataschema`` the hub accepts (an absolute URI)."""
    return isinstance(value, str) and _DATASCHEMA.fullmatch(value) is not None


def is_json_content_type(value: object) -> bool:
    """Whether ``value`` names JSON data (``application/json``, maybe with charset UTF-8)."""
    return isinstance(value, str) and _DATA_CONTENT_TYPE.fullmatch(value) is not None


def is_extension_value(value: object) -> bool:
    """Whether ``value`` has a CloudEvents attribute type in JSON: a string, integer or boolean."""
    return isinstance(value, str | bool) or (isinstance(value, int) and not isinstance(value, bool))


def split_extensions(
    document: Mapping[str, Any], fields: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``document`` without the attributes the model does not define but the spec allows,
    and those attributes: ``dataschema`` and every extension whose name keeps the naming rule.

    Anything else the model does not define stays, so the model refuses it.
    """
    kept: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for name, value in document.items():
        if name not in fields and (name == "dataschema" or is_extension_name(name)):
            extensions[name] = value
        else:
            kept[name] = value
    return kept, extensions
