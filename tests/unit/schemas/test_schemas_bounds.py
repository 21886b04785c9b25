"""Every date, instant and version is bounded to what the domain allows, with a precise rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import (
    ATTRIBUTE_VERIFIED,
    CONSENT_GRANTED,
    PROFILE_UPDATED,
    AttributeVerified,
    InvalidEvent,
    check,
    decode,
)
from schemas.samples import example_lines

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
TIME_RULES = {"offset_range", "datetime_range", "not_in_future"}


def example(event_type: str, index: int = 0) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(example_lines(event_type)[index])
    return document


def birth_example() -> dict[str, Any]:
    """A shipped ``attribute.verified`` example whose value is a date of birth."""
    for line in example_lines(ATTRIBUTE_VERIFIED):
        document: dict[str, Any] = orjson.loads(line)
        if document["data"]["attribute"] == "date_of_birth":
            return document
    raise AssertionError("no date_of_birth example")


def rules(document: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps(document), now=NOW)
    return {(error.field, error.rule) for error in caught.value.errors}


@pytest.mark.parametrize(
    ("stamp", "rule"),
    [
        ("0001-01-01T00:00:00+23:59", "offset_range"),
        ("2020-01-01T00:00:00-14:01", "offset_range"),
        ("0001-01-01T00:00:00Z", "datetime_range"),
        ("1899-12-31T23:59:59Z", "datetime_range"),
        ("1900-01-01T09:00:00+14:00", "datetime_range"),
    ],
)
def test_an_instant_outside_the_domain_is_refused_with_its_rule(stamp: str, rule: str) -> None:
    """``verified_at`` with an offset beyond 14 hours or outside 1900-2200 is refused by name."""
    document = example(ATTRIBUTE_VERIFIED)
    document["data"]["verified_at"] = stamp
    assert rules(document) == {("data.verified_at", rule)}


def test_the_envelope_time_is_bounded_too() -> None:
    """The CloudEvents ``time`` is an instant like any other."""
    document = example(ATTRIBUTE_VERIFIED)
    document["time"] = "0001-01-01T00:00:00+23:59"
    assert rules(document) == {("time", "offset_range")}


def test_a_verification_after_2200_is_out_of_range_before_it_is_in_the_future() -> None:
    """The range is checked first: an instant past 2200 is refused as ``datetime_range``."""
    document = example(ATTRIBUTE_VERIFIED)
    document["data"]["verified_at"] = "2201-01-01T00:00:00Z"
    assert rules(document) == {("data.verified_at", "datetime_range")}


def test_an_expiry_after_2200_is_refused() -> None:
    """A consent's ``expires_at`` may be in the future, but not beyond 2200."""
    document = example(CONSENT_GRANTED)
    document["data"]["expires_at"] = "9999-12-31T23:59:59-14:00"
    assert rules(document) == {("data.expires_at", "datetime_range")}


@pytest.mark.parametrize("stamp", ["1900-01-01T00:00:00Z", "2020-06-01T12:00:00+14:00"])
def test_instants_at_the_edges_are_accepted(stamp: str) -> None:
    """The window's first instant and the widest offsets in use are valid."""
    document = example(ATTRIBUTE_VERIFIED)
    document["data"]["verified_at"] = stamp
    decode(orjson.dumps(document), now=NOW)


def test_a_date_before_1900_is_refused() -> None:
    """A date of birth before 1900-01-01 is refused with ``date_range``; 1900-01-01 is fine."""
    document = birth_example()
    document["data"]["value"] = "1899-12-31"
    assert rules(document) == {("data.value", "date_range")}
    document["data"]["value"] = "1900-01-01"
    decode(orjson.dumps(document), now=NOW)


@pytest.mark.parametrize("version", [2**64 - 1, 2**63])
def test_a_version_beyond_a_signed_64_bit_integer_is_refused(version: int) -> None:
    """No consumer's database can hold a version over 2^63-1, so the contract refuses it."""
    document = example(PROFILE_UPDATED)
    document["data"]["version"] = version
    assert rules(document) == {("data.version", "above_maximum")}
    document["data"]["version"] = 2**63 - 1
    decode(orjson.dumps(document), now=NOW)


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.integers(-(24 * 60 - 1), 24 * 60 - 1),
)
def test_every_instant_accepted_converts_to_utc(moment: dt.datetime, minutes: int) -> None:
    """Whatever RFC 3339 instant comes in, either it is refused or converting it to UTC works."""
    zone = dt.timezone(dt.timedelta(minutes=minutes))
    document = example(ATTRIBUTE_VERIFIED)
    document["data"]["verified_at"] = moment.replace(tzinfo=zone).isoformat()
    outcome = check(orjson.dumps(document), now=NOW)
    if isinstance(outcome, InvalidEvent):
        assert {e.rule for e in outcome.errors} <= TIME_RULES
        return
    assert isinstance(outcome, AttributeVerified)
    assert outcome.data.verified_at.astimezone(dt.UTC).year >= 1900
