"""Turn pydantic's validation errors into :class:`FieldError` values that never echo input.

pydantic's own messages may quote what was submitted (a union tag, a parse
error); here every message comes from a fixed table or from one of our own
checks, and only schema facts (a pattern, a length, the allowed values) are
filled in. The input is looked at only to tell a wrong JSON type from a wrong
string; it is never copied into a :class:`FieldError`. A field's path names
only what the contracts define (:func:`shown_name`): a key a sender made up,
which may itself be personal data (an email address used as a key), is ``*``.

Wherever errors are shown (a problem document, ``rps publish``, ``rps
validate``) at most :data:`MAX_LISTED` are listed and the rest counted
(:func:`listed`), so a large input cannot turn into a larger answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.attributes import AttributeName, ValueModel
from schemas.types import EVENT_TYPES


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: the dotted path of the field, a stable rule code and a fixed message."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}: {self.message}"


ROOT: Final = "$"
"""The ``field`` of an error about the message as a whole (not JSON, too large...)."""

_RULES: Final = {
    "missing": "required",
    "extra_forbidden": "extra_field",
    "string_type": "wrong_type",
    "int_type": "wrong_type",
    "int_from_float": "wrong_type",
    "int_parsing": "wrong_type",
    "float_type": "wrong_type",
    "bool_type": "wrong_type",
    "bool_parsing": "wrong_type",
    "list_type": "wrong_type",
    "dict_type": "wrong_type",
    "model_type": "wrong_type",
    "model_attributes_type": "wrong_type",
    "date_type": "wrong_type",
    "datetime_type": "wrong_type",
    "is_instance_of": "wrong_type",
    "date_parsing": "date_format",
    "date_from_datetime_parsing": "date_format",
    "date_from_datetime_inexact": "date_format",
    "datetime_parsing": "datetime_format",
    "datetime_from_date_parsing": "datetime_format",
    "datetime_object_invalid": "datetime_format",
    "timezone_aware": "timezone_required",
    "string_pattern_mismatch": "pattern",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "greater_than_equal": "below_minimum",
    "greater_than": "below_minimum",
    "less_than_equal": "above_maximum",
    "less_than": "above_maximum",
    "literal_error": "not_allowed",
    "enum": "not_allowed",
    "union_tag_invalid": "not_allowed",
    "union_tag_not_found": "required",
    "frozen_instance": "frozen",
}

_MESSAGES: Final = {
    "required": "is required",
    "extra_field": "is not a field of this event type",
    "wrong_type": "has the wrong JSON type",
    "date_format": "must be a date in the form YYYY-MM-DD",
    "datetime_format": "must be an RFC 3339 date-time with a time-zone offset",
    "timezone_required": "must carry a time-zone offset",
    "pattern": "must match {pattern}",
    "too_short": "must have at least {min_length} item(s) or character(s)",
    "too_long": "must have at most {max_length} item(s) or character(s)",
    "below_minimum": "is below the minimum",
    "above_maximum": "is above the maximum",
    "not_allowed": "must be one of {expected}",
    "unknown_attribute": "is not an attribute in the catalogue",
    "unknown_type": "is not a known event type and major version",
}

HIDDEN: Final = "*"
"""How a path part that is not a name of the contracts (a key a sender made up) is shown."""

MAX_LISTED: Final = 20
"""The most errors listed in one answer or message; the rest are counted, never listed."""

_T = TypeVar("_T")

_ATTRIBUTES: Final = frozenset(name.value for name in AttributeName)
_EVENT_TYPES: Final = frozenset(EVENT_TYPES)


def listed(errors: Sequence[_T], limit: int = MAX_LISTED) -> tuple[tuple[_T, ...], int]:
    """The first ``limit`` of ``errors``, and how many more there are."""
    return tuple(errors[:limit]), max(0, len(errors) - limit)


def describe(errors: Sequence[FieldError], limit: int = MAX_LISTED) -> str:
    """``field: rule: message; ...`` for the first ``limit`` errors, then ``and N more``."""
    shown, more = listed(errors, limit)
    text = "; ".join(str(error) for error in shown)
    return f"{text}; and {more} more" if more else text


def shown_name(part: str | int) -> str:
    """``part`` when it is a list index or a name the contracts define, else :data:`HIDDEN`.

    A key made of digits is hidden too: an account or phone number is personal data.
    """
    if isinstance(part, int):
        return str(part)
    return part if part in _schema_names() else HIDDEN


@cache
def _schema_names() -> frozenset[str]:
    """Every field name (and alias) of every model, attribute name and event type."""
    names: set[str] = set(_ATTRIBUTES) | set(_EVENT_TYPES)
    for model in _models(ValueModel):
        for name, info in model.model_fields.items():
            names.add(name)
            if info.alias:
                names.add(info.alias)
    return frozenset(names)


def _models(root: type[ValueModel]) -> Iterator[type[ValueModel]]:
    yield root
    for child in root.__subclasses__():
        yield from _models(child)


def field_errors(error: ValidationError) -> tuple[FieldError, ...]:
    """The errors of one failed validation, input dropped, one per broken rule."""
    details = error.errors(include_url=False, include_input=True, include_context=True)
    return tuple(dict.fromkeys(_convert(detail) for detail in details))


def _convert(detail: ErrorDetails) -> FieldError:
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    parts = _path(detail["loc"])
    if context.get("rps_rule"):
        if context.get("field"):
            parts.extend(shown_name(part) for part in str(context["field"]).split("."))
        return FieldError(".".join(parts) or ROOT, detail["type"], detail["msg"])
    kind = detail["type"]
    rule = _RULES.get(kind, kind)
    if rule == "not_allowed" and not isinstance(detail.get("input"), str):
        rule = "wrong_type"  # a number where a string constant or enum belongs
    if kind == "union_tag_not_found":
        parts.append(str(context.get("discriminator", "")).strip("'"))
    elif kind == "union_tag_invalid":
        discriminator = str(context.get("discriminator", "")).strip("'")
        parts.append(discriminator)
        rule = "unknown_type" if discriminator == "type" else "unknown_attribute"
    elif rule == "not_allowed" and _names_attribute(parts):
        rule = "unknown_attribute"
    return FieldError(".".join(parts) or ROOT, rule, _message(rule, context))


def _path(loc: tuple[int | str, ...]) -> list[str]:
    """The dotted path of a pydantic ``loc``, without union-member and discriminator tags."""
    parts: list[str] = []
    for index, part in enumerate(loc):
        text = str(part)
        if "[" in text or "(" in text:
            continue  # a union member such as "list[...]" or "function-after[...]"
        if index == 0 and text in _EVENT_TYPES:
            continue  # the event union's tag
        if parts == ["data"] and text in _ATTRIBUTES:
            continue  # the claim union's tag
        if text in ("list", "all") and parts and parts[-1] == "attributes":
            continue  # the withdrawn-attributes union's tags
        parts.append(shown_name(part))
    return parts


def _names_attribute(parts: list[str]) -> bool:
    if not parts:
        return False
    last = parts[-1]
    return last == "attribute" or (last.isdigit() and len(parts) > 1 and parts[-2] == "attributes")


def _message(rule: str, context: dict[str, Any]) -> str:
    template = _MESSAGES.get(rule, "is not valid")
    safe: dict[str, Any] = {
        key: context[key] for key in ("pattern", "min_length", "max_length") if key in context
    }
    if "expected" in context:
        safe["expected"] = context["expected"]
    elif "expected_tags" in context:
        safe["expected"] = context["expected_tags"]
    try:
        return template.format(**safe)
    except (KeyError, IndexError):
        return _MESSAGES.get(rule, "is not valid").split(" {", 1)[0]
