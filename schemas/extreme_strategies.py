"""Hypothesis strategies for valid events at the edges of what the contracts allow.

Every event drawn passes validation, yet its values sit at the bounds more
often than not: the first and last instants of the 1900-2200 window with
offsets up to 14 hours either way, dates from 1900-01-01, versions up to
2^63-1, ids, codes and references at their longest, names and address lines of
any printable Unicode at their longest. Consumers' tests drive these through
every apply path. Importing this module imports hypothesis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from hypothesis import strategies as st

from schemas._envelope import MAX_VERSION
from schemas._rules import EARLIEST_DATE, EARLIEST_INSTANT, LATEST_INSTANT, MAX_OFFSET
from schemas._value_strategies import postcodes
from schemas.attributes import AssuranceLevel, AttributeName
from schemas.audit import AuditDecision
from schemas.events import Event
from schemas.ids import HUB_SOURCE, source_of_authority
from schemas.types import (
    ATTRIBUTE_RETRACTED,
    ATTRIBUTE_VERIFIED,
    AUDIT_RECORDED,
    CONSENT_ENDED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    DELIVERY_APPLIED,
    PROFILE_UPDATED,
    SUBSCRIPTION_CHANGED,
)
from schemas.validation import parse

__all__ = [
    "LATEST_PAST",
    "extreme_deliveries",
    "extreme_events",
    "extreme_inbound_events",
    "extreme_instants",
    "extreme_versions",
]

LATEST_PAST: Final = dt.datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
"""The latest instant drawn for fields that must not be in the future."""

_MAX_MINUTES: Final = int(MAX_OFFSET.total_seconds() // 60)
_ID_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
_REFERENCE_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.-"
_PRINTABLE: Final = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs"))
"""Any Unicode character but controls, surrogates and spaces (names may not start or end
with a space, and pydantic and Python disagree on a few exotic ones)."""


def _longest_or(longest: str, drawn: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
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


def _ids() -> st.SearchStrategy[str]:
    return _longest_or("Z" * 128, st.text(st.sampled_from(_ID_CHARS), min_size=1, max_size=128))


def _codes() -> st.SearchStrategy[str]:
    return _longest_or("z" * 64, st.from_regex(r"[a-z0-9_]{1,64}", fullmatch=True))


def _references() -> st.SearchStrategy[str]:
    return _longest_or(
        "R" * 64, st.text(st.sampled_from(_REFERENCE_CHARS), min_size=1, max_size=64)
    )


def _authorities() -> st.SearchStrategy[str]:
    longest = "urn:org:" + "a" + "-" * 61 + "z"
    return st.one_of(
        st.sampled_from(("E08000012", "N99999999", "W00000000", longest)),
        st.from_regex(r"urn:org:[a-z0-9][a-z0-9-]{0,62}", fullmatch=True),
    )


def _residents() -> st.SearchStrategy[str]:
    return st.uuids().map(str)


def _text(longest: int) -> st.SearchStrategy[str]:
    """1..``longest`` printable Unicode characters, the longest (emoji, CJK) often."""
    return st.one_of(
        st.sampled_from(("\U0001f600" * longest, "\u9f8d" * longest, "\u00e9" * longest)),
        st.text(_PRINTABLE, min_size=1, max_size=longest),
    )


def _dates(latest: dt.date = LATEST_PAST.date()) -> st.SearchStrategy[dt.date]:
    return st.one_of(st.sampled_from((EARLIEST_DATE, latest)), st.dates(EARLIEST_DATE, latest))


def _emails() -> st.SearchStrategy[str]:
    longest = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 61
    return st.one_of(
        st.just(longest),
        st.from_regex(r"[a-z0-9]{1,64}@[a-z0-9]{1,63}\.[a-z]{2,6}", fullmatch=True),
    )


@st.composite
def _values(draw: st.DrawFn, attribute: AttributeName) -> Any:
    """A JSON value of ``attribute`` at its edges."""
    match attribute:
        case AttributeName.FULL_NAME:
            return {"given_names": draw(_text(200)), "family_name": draw(_text(200))}
        case AttributeName.DATE_OF_BIRTH:
            return draw(_dates()).isoformat()
        case AttributeName.ADDRESS:
            return {
                "uprn": draw(st.sampled_from(("1", "999999999999", "41200098765"))),
                "lines": draw(st.lists(_text(100), min_size=1, max_size=4)),
                "town": draw(_text(100)),
                "postcode": draw(postcodes()),
                "local_authority": draw(st.sampled_from(("E08000012", "N99999999"))),
            }
        case AttributeName.EMAIL:
            return draw(_emails())
        case AttributeName.PHONE:
            return draw(st.sampled_from(("+441000000000", "+449999999999", "+447700900123")))
        case AttributeName.DATE_OF_DEATH:
            born = draw(_dates())
            died = draw(st.one_of(st.just(born), st.dates(born, LATEST_PAST.date())))
            return {
                "date": died.isoformat(),
                "date_of_birth": draw(st.sampled_from((born.isoformat(), None))),
            }
    raise AssertionError(attribute)


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat()


def _envelope(draw: st.DrawFn, event_type: str, source: str, subject: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": draw(_ids()),
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": _stamp(draw(extreme_instants())),
    }


def _sources() -> st.SearchStrategy[str]:
    return _authorities().map(source_of_authority)


def _attributes() -> st.SearchStrategy[list[str]]:
    names = [name.value for name in AttributeName]
    return st.one_of(st.just(names), st.lists(st.sampled_from(names), min_size=1, unique=True))


def _provenance(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "claim_id": draw(_ids()),
        "source": draw(_sources()),
        "assurance": draw(st.sampled_from(AssuranceLevel)).value,
        "method": draw(_codes()),
        "verified_at": _stamp(draw(extreme_instants())),
    }


@st.composite
def _verified(draw: st.DrawFn) -> dict[str, Any]:
    attribute = draw(st.sampled_from(AttributeName))
    document = _envelope(draw, ATTRIBUTE_VERIFIED, draw(_sources()), draw(_residents()))
    document["data"] = {
        "attribute": attribute.value,
        "value": draw(_values(attribute)),
        "assurance": draw(st.sampled_from(AssuranceLevel)).value,
        "method": draw(_codes()),
        "verified_at": _stamp(draw(extreme_instants())),
    }
    return document


@st.composite
def _retracted(draw: st.DrawFn) -> dict[str, Any]:
    document = _envelope(draw, ATTRIBUTE_RETRACTED, draw(_sources()), draw(_residents()))
    document["data"] = {
        "claim_id": draw(_ids()),
        "attribute": draw(st.sampled_from(AttributeName)).value,
        "reason": draw(st.sampled_from(("reported_in_error", "mistyped", "other"))),
    }
    return document


@st.composite
def _granted(draw: st.DrawFn) -> dict[str, Any]:
    document = _envelope(draw, CONSENT_GRANTED, "urn:org:rps-resident-app", draw(_residents()))
    issued = dt.datetime.fromisoformat(document["time"])
    after = issued.astimezone(dt.UTC) + dt.timedelta(microseconds=1)
    expires = draw(st.one_of(st.none(), extreme_instants(after, LATEST_INSTANT)))
    document["data"] = {
        "authority": draw(_authorities()),
        "attributes": draw(_attributes()),
        "purpose": draw(_codes()),
        "local_reference": draw(_references()),
        "expires_at": None if expires is None else _stamp(expires),
    }
    return document


@st.composite
def _withdrawn(draw: st.DrawFn) -> dict[str, Any]:
    document = _envelope(draw, CONSENT_WITHDRAWN, "urn:org:rps-resident-app", draw(_residents()))
    document["data"] = {
        "authority": draw(_authorities()),
        "attributes": draw(st.one_of(st.just("all"), _attributes())),
    }
    return document


@st.composite
def _subscription(draw: st.DrawFn) -> dict[str, Any]:
    authority = draw(_authorities())
    document = _envelope(draw, SUBSCRIPTION_CHANGED, source_of_authority(authority), authority)
    document["data"] = {
        "authority": authority,
        "attribute": draw(st.sampled_from(AttributeName)).value,
        "minimum_assurance": draw(st.sampled_from(AssuranceLevel)).value,
        "active": draw(st.booleans()),
    }
    return document


@st.composite
def _updated(
    draw: st.DrawFn,
    authority: str | None = None,
    references: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    attribute = draw(st.sampled_from(AttributeName))
    document = _envelope(draw, PROFILE_UPDATED, HUB_SOURCE, draw(_residents()))
    value = draw(st.one_of(st.none(), _values(attribute)))
    document["data"] = {
        "authority": authority or draw(_authorities()),
        "local_reference": draw(_references() if references is None else references),
        "attribute": attribute.value,
        "value": value,
        "provenance": None if value is None else _provenance(draw),
        "decision_id": document["id"],
        "version": draw(extreme_versions()),
    }
    return document


@st.composite
def _ended(
    draw: st.DrawFn,
    authority: str | None = None,
    references: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    document = _envelope(draw, CONSENT_ENDED, HUB_SOURCE, draw(_residents()))
    document["data"] = {
        "authority": authority or draw(_authorities()),
        "local_reference": draw(_references() if references is None else references),
        "attributes": draw(_attributes()),
        "reason": draw(st.sampled_from(("withdrawn", "expired"))),
        "decision_id": document["id"],
        "version": draw(extreme_versions()),
    }
    return document


@st.composite
def _applied(draw: st.DrawFn) -> dict[str, Any]:
    authority = draw(_authorities())
    document = _envelope(draw, DELIVERY_APPLIED, source_of_authority(authority), draw(_residents()))
    document["data"] = {
        "authority": authority,
        "decision_id": draw(_ids()),
        "local_reference": draw(_references()),
        "applied_at": _stamp(draw(extreme_instants())),
    }
    return document


@st.composite
def _audited(draw: st.DrawFn) -> dict[str, Any]:
    optional = st.one_of
    token = _longest_or("T" * 512, st.from_regex(r"[A-Za-z0-9+/=_.:-]{1,512}", fullmatch=True))
    document = _envelope(draw, AUDIT_RECORDED, HUB_SOURCE, draw(_residents()))
    chain = draw(
        optional(
            st.none(),
            st.fixed_dictionaries(
                {"previous_hash": token, "hash": token, "signature": token, "key_id": token}
            ),
        )
    )
    document["data"] = {
        "decision": draw(st.sampled_from(AuditDecision)).value,
        "reason": draw(optional(st.none(), _codes())),
        "event_id": draw(_ids()),
        "event_type": draw(_text(256)),
        "event_source": draw(_text(256)),
        "attribute": draw(optional(st.none(), st.sampled_from(AttributeName).map(str))),
        "authority": draw(optional(st.none(), _authorities())),
        "claim_id": draw(optional(st.none(), _ids())),
        "assurance": draw(optional(st.none(), st.sampled_from(AssuranceLevel).map(str))),
        "decision_id": draw(optional(st.none(), _ids())),
        "version": draw(optional(st.none(), extreme_versions())),
        "chain": chain,
    }
    return document


def _event(documents: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Event]:
    return documents.map(parse)


def extreme_inbound_events() -> st.SearchStrategy[Event]:
    """Any of the five inbound types, at the edges."""
    return _event(st.one_of(_verified(), _retracted(), _granted(), _withdrawn(), _subscription()))


def extreme_deliveries(
    authority: str, references: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Event]:
    """``profile.updated`` and ``consent.ended`` for ``authority``, at the edges; pin
    ``references`` to a few so that deliveries meet on the same keys."""
    return _event(st.one_of(_updated(authority, references), _ended(authority, references)))


def extreme_events() -> st.SearchStrategy[Event]:
    """Any event of any of the nine types, at the edges."""
    return _event(
        st.one_of(
            _verified(),
            _retracted(),
            _granted(),
            _withdrawn(),
            _subscription(),
            _updated(),
            _ended(),
            _applied(),
            _audited(),
        )
    )
