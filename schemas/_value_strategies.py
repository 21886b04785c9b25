"""Hypothesis strategies for ids, instants and attribute values (see ``schemas.strategies``).

Every instant drawn lies between 2000 and the end of 2024, so it is never "in
the future" on any clock this code will meet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from schemas.attributes import (
    POSTCODE_PATTERN,
    Address,
    AssuranceLevel,
    AttributeName,
    DateOfDeath,
    FullName,
)
from schemas.ids import source_of_authority

EARLIEST: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST: Final = dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
KNOWN_AUTHORITIES: Final = ("E08000012", "E08000015", "E06000001", "W06000015", "urn:org:dwp")
KNOWN_PUBLISHERS: Final = ("urn:gss:E08000012", "urn:gss:E08000015", "urn:org:dwp", "urn:org:dvla")
_POSTCODES: Final = ("L1 8JQ", "CH41 5AG", "L69 3BX", "SW1A 2AA", "EC1A 1BB", "M1 1AE", "GIR 0AA")
_ALNUM: Final = "abcdefghijklmnopqrstuvwxyz0123456789"


# Identifiers ---------------------------------------------------------------------------------


def residents() -> st.SearchStrategy[str]:
    """Residents' hub ids: canonical lowercase UUIDs."""
    return st.uuids().map(str)


def pseudonyms() -> st.SearchStrategy[str]:
    """An authority's pairwise pseudonyms for residents (UUID-shaped)."""
    return st.uuids().map(str)


def gss_codes() -> st.SearchStrategy[str]:
    """GSS codes: a few real ones, and any country letter with eight digits."""
    drawn = st.builds(
        lambda letter, number: f"{letter}{number:08d}",
        st.sampled_from("EWSN"),
        st.integers(0, 99_999_999),
    )
    return st.one_of(st.sampled_from(KNOWN_AUTHORITIES[:4]), drawn)


def org_ids() -> st.SearchStrategy[str]:
    """Central bodies: ``urn:org:<name>``."""
    names = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
    return st.one_of(
        st.sampled_from(("urn:org:dwp", "urn:org:dvla", "urn:org:gro")),
        names.map("urn:org:".__add__),
    )


def authorities() -> st.SearchStrategy[str]:
    """Authority ids: GSS codes or ``urn:org:<name>``."""
    return st.one_of(gss_codes(), org_ids())


def sources() -> st.SearchStrategy[str]:
    """Publishers' CloudEvents sources: ``urn:gss:<GSS>`` or ``urn:org:<name>``."""
    return authorities().map(source_of_authority)


def event_ids() -> st.SearchStrategy[str]:
    """Event ids: 1-128 characters of ``A-Za-z0-9._:-`` (mostly short)."""
    return st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True)


def codes() -> st.SearchStrategy[str]:
    """Short machine codes (methods, purposes, reasons)."""
    return st.one_of(
        st.sampled_from(("council_tax_record", "benefit_record", "death_registration")),
        st.from_regex(r"[a-z0-9_]{1,64}", fullmatch=True),
    )


def local_references() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9/_.-]{1,64}", fullmatch=True)


def times(
    min_value: dt.datetime = EARLIEST, max_value: dt.datetime = LATEST
) -> st.SearchStrategy[dt.datetime]:
    """Aware instants (UTC or one hour ahead) in the past."""
    naive = st.datetimes(
        min_value=min_value.replace(tzinfo=None), max_value=max_value.replace(tzinfo=None)
    )
    zones = st.sampled_from((dt.UTC, dt.timezone(dt.timedelta(hours=1))))
    return st.builds(
        lambda moment, zone: moment.replace(tzinfo=dt.UTC).astimezone(zone), naive, zones
    )


def assurance_levels() -> st.SearchStrategy[AssuranceLevel]:
    return st.sampled_from(AssuranceLevel)


def attribute_names() -> st.SearchStrategy[AttributeName]:
    return st.sampled_from(AttributeName)


# Attribute values -----------------------------------------------------------------------------


def _words(max_words: int, alphabet: Any = None) -> st.SearchStrategy[str]:
    letters = alphabet if alphabet is not None else st.characters(categories=["L"])
    word = st.text(letters, min_size=1, max_size=12)
    return st.lists(word, min_size=1, max_size=max_words).map(" ".join)


def full_names() -> st.SearchStrategy[FullName]:
    return st.builds(FullName, given_names=_words(3), family_name=_words(2))


def dates_of_birth() -> st.SearchStrategy[dt.date]:
    return st.dates(dt.date(1900, 1, 1), LATEST.date())


def postcodes() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_POSTCODES), st.from_regex(POSTCODE_PATTERN, fullmatch=True))


def addresses(local_authority: str | None = None) -> st.SearchStrategy[Address]:
    line = _words(
        5, st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,'-")
    )
    return st.builds(
        Address,
        uprn=st.integers(1, 999_999_999_999).map(str),
        lines=st.lists(line, min_size=1, max_size=4),
        town=_words(3),
        postcode=postcodes(),
        local_authority=st.just(local_authority) if local_authority else gss_codes(),
    )


def emails() -> st.SearchStrategy[str]:
    atom = st.text(st.sampled_from(_ALNUM + "!#$%&'*+/=?^_`{|}~-"), min_size=1, max_size=10)
    local = st.lists(atom, min_size=1, max_size=3).map(".".join)
    label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
    domain = st.one_of(
        st.sampled_from(("example.com", "example.org", "liverpool.gov.uk")),
        st.lists(label, min_size=2, max_size=4).map(".".join),
    )
    return st.builds(lambda user, host: f"{user}@{host}", local, domain)


def phones() -> st.SearchStrategy[str]:
    return st.builds(
        lambda first, rest: f"+44{first}{rest:09d}", st.integers(1, 9), st.integers(0, 999_999_999)
    )


@st.composite
def deaths(draw: st.DrawFn) -> DateOfDeath:
    born = draw(dates_of_birth())
    died = draw(st.dates(born, LATEST.date()))
    return DateOfDeath(date=died, date_of_birth=draw(st.sampled_from((born, None))))


def attribute_values(attribute: AttributeName) -> st.SearchStrategy[Any]:
    """Valid values of one attribute."""
    strategies: dict[AttributeName, st.SearchStrategy[Any]] = {
        AttributeName.FULL_NAME: full_names(),
        AttributeName.DATE_OF_BIRTH: dates_of_birth(),
        AttributeName.ADDRESS: addresses(),
        AttributeName.EMAIL: emails(),
        AttributeName.PHONE: phones(),
        AttributeName.DATE_OF_DEATH: deaths(),
    }
    return strategies[attribute]


# Drawing with a pinned value -----------------------------------------------------------------

T = TypeVar("T")


def pinned(value: T | None, otherwise: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``value`` when a test pins it, else whatever ``otherwise`` draws."""
    return st.just(value) if value is not None else otherwise


def drawn_id(draw: st.DrawFn, event_id: str | None = None) -> str:
    """``event_id`` when pinned, else a fresh event id."""
    return event_id if event_id is not None else draw(event_ids())


def drawn_time(draw: st.DrawFn, time: dt.datetime | None = None) -> dt.datetime:
    """``time`` when pinned, else an instant between ``EARLIEST`` and ``LATEST``."""
    return time if time is not None else draw(times())
