"""Hypothesis strategies for single values at the edges of what the contracts allow: instants
in the 1900-2200 window with offsets up to 14 hours either way, dates from 1900-01-01,
versions up to 2^63-1, ids, codes and references at their longest, and every attribute's
value (names and address lines of any printable Unicode at their longest).

``schemas.extreme_strategies`` builds whole events from them. Importing this module imports
hypothesis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from hypothesis import strategies as st

from schemas._envelope import MAX_VERSION
from schemas._rules import EARLIEST_DATE, EARLIEST_INSTANT, MAX_OFFSET
from schemas._value_strategies import postcodes
from schemas.attributes import AttributeName
from schemas.ids import source_of_authority

LATEST_PAST: Final = dt.datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
"""The latest instant drawn for fields that must not be in the future."""

_MAX_MINUTES: Final = int(MAX_OFFSET.total_seconds() // 60)
_ID_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
_REFERENCE_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.-"
_PRINTABLE: Final = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs"))
"""Any Unicode character but controls, surrogates and spaces (names may not start or end
with a space, and pydantic and Python disagree on a few exotic ones)."""


def longest_or(longest: str, drawn: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(longest), drawn)


def extreme_instants(
    earliest: dt.datetime = EARLIEST_INSTANT, latest: dt.datetime = LATEST_PAST
) -> st.SearchStrategy[dt.datetime]:
    """Instants between ``earliest`` and ``latest`` (UTC), the bounds themselves often, each
    written with any offset within +-14:00."""
    naive = st.one_of(
        st.sampled_from((earliest, latest)).map(lambda moment: moment.replace(tzinfo=None)),
        st.datetimes(earliest.replace(tzinfo=None), latest.replace(tzinfo=None)),
    )
    minutes = st.one_of(
        st.sampled_from((-_MAX_MINUTES, _MAX_MINUTES, 0, 345, -570)),
        st.integers(-_MAX_MINUTES, _MAX_MINUTES),
    )
    return st.builds(
        lambda moment, offset: moment.replace(tzinfo=dt.UTC).astimezone(
            dt.timezone(dt.timedelta(minutes=offset))
        ),
        naive,
        minutes,
    )


def extreme_versions() -> st.SearchStrategy[int]:
    """Versions from 1 to 2^63-1, the edges of 32-, 53- and 64-bit integers often."""
    edges = (1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, MAX_VERSION - 1, MAX_VERSION)
    return st.one_of(st.sampled_from(edges), st.integers(1, MAX_VERSION))


def ids() -> st.SearchStrategy[str]:
    return longest_or("Z" * 128, st.text(st.sampled_from(_ID_CHARS), min_size=1, max_size=128))


def codes() -> st.SearchStrategy[str]:
    return longest_or("z" * 64, st.from_regex(r"[a-z0-9_]{1,64}", fullmatch=True))


def local_references() -> st.SearchStrategy[str]:
    return longest_or("R" * 64, st.text(st.sampled_from(_REFERENCE_CHARS), min_size=1, max_size=64))


def authorities() -> st.SearchStrategy[str]:
    longest = "urn:org:" + "a" + "-" * 61 + "z"
    return st.one_of(
        st.sampled_from(("E08000012", "N99999999", "W00000000", longest)),
        st.from_regex(r"urn:org:[a-z0-9][a-z0-9-]{0,62}", fullmatch=True),
    )


def residents() -> st.SearchStrategy[str]:
    return st.uuids().map(str)


def text(longest: int) -> st.SearchStrategy[str]:
    """1..``longest`` printable Unicode characters, the longest (emoji, CJK) often."""
    return st.one_of(
        st.sampled_from(("\U0001f600" * longest, "\u9f8d" * longest, "\u00e9" * longest)),
        st.text(_PRINTABLE, min_size=1, max_size=longest),
    )


def dates(latest: dt.date = LATEST_PAST.date()) -> st.SearchStrategy[dt.date]:
    return st.one_of(st.sampled_from((EARLIEST_DATE, latest)), st.dates(EARLIEST_DATE, latest))


def emails() -> st.SearchStrategy[str]:
    longest = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 61
    return st.one_of(
        st.just(longest),
        st.from_regex(r"[a-z0-9]{1,64}@[a-z0-9]{1,63}\.[a-z]{2,6}", fullmatch=True),
    )


@st.composite
def values(draw: st.DrawFn, attribute: AttributeName) -> Any:
    """A JSON value of ``attribute`` at its edges."""
    match attribute:
        case AttributeName.FULL_NAME:
            return {"given_names": draw(text(200)), "family_name": draw(text(200))}
        case AttributeName.DATE_OF_BIRTH:
            return draw(dates()).isoformat()
        case AttributeName.ADDRESS:
            return {
                "uprn": draw(st.sampled_from(("1", "999999999999", "41200098765"))),
                "lines": draw(st.lists(text(100), min_size=1, max_size=4)),
                "town": draw(text(100)),
                "postcode": draw(postcodes()),
                "local_authority": draw(st.sampled_from(("E08000012", "N99999999"))),
            }
        case AttributeName.EMAIL:
            return draw(emails())
        case AttributeName.PHONE:
            return draw(st.sampled_from(("+441000000000", "+449999999999", "+447700900123")))
        case AttributeName.DATE_OF_DEATH:
            born = draw(dates())
            died = draw(st.one_of(st.just(born), st.dates(born, LATEST_PAST.date())))
            return {
                "date": died.isoformat(),
                "date_of_birth": draw(st.sampled_from((born.isoformat(), None))),
            }
    raise AssertionError(attribute)


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat()


def sources() -> st.SearchStrategy[str]:
    return authorities().map(source_of_authority)


def attribute_lists() -> st.SearchStrategy[list[str]]:
    names = [name.value for name in AttributeName]
    return st.one_of(st.just(names), st.lists(st.sampled_from(names), min_size=1, unique=True))
