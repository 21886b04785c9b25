"""The machinery behind every custom check: a rule code, a fixed message, and "now".

A failed check raises :class:`pydantic_core.PydanticCustomError` whose *type* is
the stable rule code (``postcode_format``, ``not_in_future``...) and whose
message is a fixed sentence that never contains the submitted value. A check
that belongs to a sub-field (a model validator that blames ``date``) names that
sub-field in the error's context under ``"field"``; ``schemas._errors`` adds it to the
dotted path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError

CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far ahead of the hub's clock a timestamp may be and still count as "not in the future"."""

DATE_SKEW = dt.timedelta(hours=14)
"""A calendar date is "not in the future" if it is today somewhere on Earth (UTC+14)."""

EARLIEST_INSTANT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST_INSTANT = dt.datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
"""Every instant the domain speaks of (a verification, an issue, an expiry) lies in this window."""

MAX_OFFSET = dt.timedelta(hours=14)
"""The widest time-zone offset in use on Earth: any instant within it converts to UTC safely."""

EARLIEST_DATE = dt.date(1900, 1, 1)
"""No living resident was born, and no death the hub hears of happened, before this date."""


def fail(rule: str, message: str, field: str | None = None) -> PydanticCustomError:
    """An error for ``rule``; ``message`` must be a fixed sentence, never a submitted value."""
    context: dict[str, Any] = {"rps_rule": True}
    if field:
        context["field"] = field
    return PydanticCustomError(rule, message, context)


def now_of(info: ValidationInfo | None) -> dt.datetime:
    """The instant validation treats as "now": the caller's ``now`` or the current UTC time."""
    context = info.context if info is not None else None
    if isinstance(context, dict):
        now = context.get("now")
        if isinstance(now, dt.datetime):
            return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


def matcher(
    pattern: str, rule: str, message: str, *, normalise: Callable[[str], str] | None = None
) -> Callable[[Any], Any]:
    """A validator: the string (after ``normalise``) must match ``pattern``, else ``rule``."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise fail("wrong_type", "must be a string")
        candidate = normalise(value) if normalise is not None else value
        if not compiled.fullmatch(candidate):
            raise fail(rule, message)
        return candidate

    return check


def not_in_future_datetime(value: dt.datetime, info: ValidationInfo) -> dt.datetime:
    """Reject an instant more than the allowed clock skew after now."""
    if value > now_of(info) + CLOCK_SKEW:
        raise fail("not_in_future", "must not be in the future")
    return value


def not_in_future_date(value: dt.date, info: ValidationInfo) -> dt.date:
    """Reject a calendar date that has not yet begun anywhere on Earth."""
    if value > (now_of(info) + DATE_SKEW).date():
        raise fail("not_in_future", "must not be in the future")
    return value


def bounded_instant(value: dt.datetime) -> dt.datetime:
    """Refuse an offset beyond +-14:00 or an instant outside 1900-2200, before any UTC maths."""
    offset = value.utcoffset()
    if offset is None or abs(offset) > MAX_OFFSET:
        raise fail("offset_range", "must have a time-zone offset between -14:00 and +14:00")
    if not EARLIEST_INSTANT <= value <= LATEST_INSTANT:
        raise fail("datetime_range", "must lie between 1900-01-01 and 2200-12-31 (UTC)")
    return value


def bounded_date(value: dt.date) -> dt.date:
    """Refuse a calendar date before 1900-01-01."""
    if value < EARLIEST_DATE:
        raise fail("date_range", "must not be before 1900-01-01")
    return value


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def rfc3339_input(value: Any) -> Any:
    """Accept a datetime or an RFC 3339 string with an offset; refuse numbers and bare dates."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise fail("wrong_type", "must be an RFC 3339 date-time string")
    if not _RFC3339.fullmatch(value):
        raise fail("datetime_format", "must be an RFC 3339 date-time with a time-zone offset")
    return value


def iso_date_input(value: Any) -> Any:
    """Accept a date or a ``YYYY-MM-DD`` string; refuse numbers and date-times."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise fail("wrong_type", "must be a YYYY-MM-DD date string")
    if not _ISO_DATE.fullmatch(value):
        raise fail("date_format", "must be a date in the form YYYY-MM-DD")
    return value
