"""Publisher input, a CloudEvent or the simple form, read into a validated inbound event."""

from __future__ import annotations

import datetime as dt

import pytest

from producers import InvalidInput, NotPublishable, SourceMismatch
from producers.inputs import read_document, read_line, read_retraction, simple_event_id
from schemas import MAX_BYTES, PROFILE_UPDATED, AttributeRetracted, AttributeVerified
from schemas.samples import example_lines
from tests.unit.producers.support import (
    OTHER_SOURCE,
    PLANTED,
    RESIDENT,
    SOURCE,
    address,
    cloudevent,
    line,
    simple,
)

NOW = dt.datetime.now(dt.UTC)


def rules(error: InvalidInput) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in error.errors}


def test_a_cloudevent_line_is_read_as_it_is() -> None:
    """A structured-mode CloudEvent line keeps its own id, source and subject."""
    document = cloudevent(event_id="lcc-1")
    event = read_line(line(document), source=None, now=NOW)
    assert (event.id, event.source, event.subject) == ("lcc-1", SOURCE, RESIDENT)


def test_the_simple_form_gets_the_envelope_filled_in() -> None:
    """The simple form becomes attribute.verified with the given source, an id derived from
    the line, and ``time`` the moment of verification."""
    event = read_document(simple(), source=SOURCE, now=NOW)
    assert isinstance(event, AttributeVerified)
    assert (event.source, event.subject, event.time) == (SOURCE, RESIDENT, event.data.verified_at)
    assert event.id == simple_event_id(simple(), SOURCE)


def test_simple_form_errors_use_the_simple_form_names() -> None:
    """Errors name ``resident`` and ``value.postcode``, not ``subject`` and ``data.value...``."""
    document = simple(resident="not-a-uuid", attribute="address", value=address("nonsense"))
    with pytest.raises(InvalidInput) as refused:
        read_document(document, source=SOURCE, now=NOW)
    assert {("resident", "uuid_format"), ("value.postcode", "postcode_format")} <= rules(
        refused.value
    )


def test_the_simple_form_needs_a_source() -> None:
    """Without a configured source the simple form is refused, naming ``source``."""
    with pytest.raises(InvalidInput) as refused:
        read_document(simple(), source=None, now=NOW)
    assert ("source", "required") in rules(refused.value)


def test_simple_form_missing_and_unknown_fields_are_each_named() -> None:
    """A missing field is reported by name, an unknown one as ``*`` (its name is not ours)."""
    document = simple(colour="blue")
    del document["assurance"]
    with pytest.raises(InvalidInput) as refused:
        read_document(document, source=SOURCE, now=NOW)
    assert rules(refused.value) == {("assurance", "required"), ("*", "extra_field")}


def test_a_cloudevent_from_another_source_is_refused_before_validation() -> None:
    """Even a broken event is refused as a source mismatch first when its source is not ours."""
    document = cloudevent(source=OTHER_SOURCE, subject="broken")
    with pytest.raises(SourceMismatch):
        read_document(document, source=SOURCE, now=NOW)


def test_outbound_types_are_refused() -> None:
    """A profile.updated (a delivery) can never be published, however valid it is."""
    with pytest.raises(NotPublishable):
        read_line(example_lines(PROFILE_UPDATED)[0], source=None, now=NOW)


def test_not_json_and_too_large_lines_are_refused() -> None:
    """Garbage and oversized lines are refused with the whole-message field ``$``."""
    with pytest.raises(InvalidInput) as garbage:
        read_line(b"{not json", source=SOURCE, now=NOW)
    with pytest.raises(InvalidInput) as huge:
        read_line(b" " * (MAX_BYTES + 1), source=SOURCE, now=NOW)
    assert rules(garbage.value) == {("$", "not_json")}
    assert rules(huge.value) == {("$", "too_large")}


def test_errors_never_repeat_the_submitted_value() -> None:
    """A planted value in a broken event appears in no error field, rule or message."""
    document = cloudevent(attribute="phone", value=PLANTED)
    with pytest.raises(InvalidInput) as refused:
        read_document(document, source=SOURCE, now=NOW)
    assert refused.value.errors
    assert PLANTED not in str(refused.value)
    assert all(PLANTED not in f"{e.field}{e.rule}{e.message}" for e in refused.value.errors)


def test_a_retraction_request_becomes_an_attribute_retracted_event() -> None:
    """The retraction form names the claim; source and envelope are filled in."""
    event = read_retraction(
        {"resident": RESIDENT, "claim_id": "lcc-1", "attribute": "email", "reason": "mistyped"},
        source=SOURCE,
        now=NOW,
    )
    assert isinstance(event, AttributeRetracted)
    assert (event.data.claim_id, event.source, event.subject) == ("lcc-1", SOURCE, RESIDENT)


def test_a_broken_retraction_request_names_each_field() -> None:
    """A missing claim id, and in another request an unknown reason, are reported by field."""
    with pytest.raises(InvalidInput) as refused:
        read_retraction(
            {"resident": RESIDENT, "attribute": "email", "reason": "changed_my_mind"},
            source=SOURCE,
            now=NOW,
        )
    assert rules(refused.value) == {("claim_id", "required")}
    with pytest.raises(InvalidInput) as refused:
        read_retraction(
            {"resident": RESIDENT, "claim_id": "x", "attribute": "email", "reason": "whim"},
            source=SOURCE,
            now=NOW,
        )
    assert rules(refused.value) == {("reason", "not_allowed")}
