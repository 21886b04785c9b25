"""Builders fill the CloudEvents envelope and validate with schemas, naming fields, never values."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from producers import InvalidInput, InvalidSource, Publisher
from producers import events as build
from rps.settings import Settings
from schemas import Address, AttributeVerified
from tests.unit.producers.support import RESIDENT, SOURCE, address

NOW = dt.datetime(2025, 3, 3, 10, 15, tzinfo=dt.UTC)


def test_verified_fills_id_time_source_and_type() -> None:
    """The caller gives the facts; the builder fills a fresh id, the time, source and type."""
    event = build.verified(
        source=SOURCE,
        resident=RESIDENT,
        attribute="address",
        value=address(),
        assurance="medium",
        method="council_tax_record",
        verified_at=NOW - dt.timedelta(minutes=1),
        now=NOW,
    )
    assert isinstance(event, AttributeVerified)
    assert uuid.UUID(event.id)
    assert (event.time, event.source, event.subject) == (NOW, SOURCE, RESIDENT)
    assert event.type == "uk.gov.rps.attribute.verified.v1"
    assert isinstance(event.data.value, Address)


def test_a_given_event_id_is_kept() -> None:
    """A caller that brings its own id (for idempotent resends) gets exactly that id."""
    event = build.subscription_changed(
        source=SOURCE,
        authority="E08000012",
        attribute="email",
        minimum_assurance="low",
        active=False,
        now=NOW,
        event_id="lcc-sub-email-2",
    )
    assert event.id == "lcc-sub-email-2"


def test_an_invalid_value_names_field_and_rule_but_not_the_value() -> None:
    """A bad postcode is reported as data.value.postcode / postcode_format, without the postcode."""
    with pytest.raises(InvalidInput) as refused:
        build.verified(
            source=SOURCE,
            resident=RESIDENT,
            attribute="address",
            value=address(postcode="ZZ99 SECRET"),
            assurance="medium",
            method="council_tax_record",
            verified_at=NOW,
            now=NOW,
        )
    fields = {(error.field, error.rule) for error in refused.value.errors}
    assert ("data.value.postcode", "postcode_format") in fields
    assert "SECRET" not in str(refused.value)


def test_a_claim_verified_in_the_future_is_refused() -> None:
    """verified_at later than now (beyond clock skew) breaks not_in_future."""
    with pytest.raises(InvalidInput) as refused:
        build.verified(
            source=SOURCE,
            resident=RESIDENT,
            attribute="email",
            value="a@example.com",
            assurance="low",
            method="self_asserted",
            verified_at=NOW + dt.timedelta(days=2),
            now=NOW,
        )
    assert [(e.field, e.rule) for e in refused.value.errors] == [
        ("data.verified_at", "not_in_future")
    ]


def test_a_publisher_bound_to_a_malformed_source_is_refused() -> None:
    """The SDK refuses a source that is not urn:gss:<GSS code> or urn:org:<name>."""
    with pytest.raises(InvalidSource, match="urn:gss"):
        Publisher(Settings(), source="council of liverpool")
