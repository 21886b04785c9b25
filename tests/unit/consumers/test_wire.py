"""Delivery records become the subscriber's types, or poison with a value-free reason."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from consumers._apply import Ending, Update
from consumers._repository import PendingAck
from consumers._wire import acknowledgements, to_delivery
from consumers.errors import PoisonRecord
from schemas import DeliveryApplied, decode
from tests.unit.consumers.events import (
    AUTHORITY,
    REFERENCE,
    SUBJECT,
    address,
    consent_ended,
    profile_updated,
    record,
)


def test_a_profile_update_carries_value_version_and_provenance() -> None:
    """``profile.updated`` decodes to an Update with the value as JSON and its provenance."""
    delivery = to_delivery(record(profile_updated(3, address("Flat 2"))), AUTHORITY)
    assert isinstance(delivery, Update)
    assert (delivery.version, delivery.attribute, delivery.local_reference) == (
        3,
        "address",
        REFERENCE,
    )
    assert orjson.loads(delivery.value_json or "null")["lines"][0] == "Flat 2"
    assert delivery.provenance is not None
    assert delivery.provenance.source == "urn:gss:E08000015"
    assert delivery.subject == SUBJECT


def test_a_null_value_means_no_value_stands() -> None:
    """``value: null`` decodes to an Update without a value or provenance."""
    delivery = to_delivery(record(profile_updated(4, None)), AUTHORITY)
    assert isinstance(delivery, Update)
    assert delivery.value_json is None
    assert delivery.provenance is None


def test_a_consent_ending_names_its_attributes() -> None:
    """``consent.ended`` decodes to an Ending over the listed attributes."""
    delivery = to_delivery(record(consent_ended(5, ["address", "email"])), AUTHORITY)
    assert isinstance(delivery, Ending)
    assert delivery.attributes == ("address", "email")
    assert delivery.reason == "withdrawn"


def test_a_delivery_for_another_authority_is_poison() -> None:
    """A delivery addressed to Wirral on Liverpool's topic is dead-lettered, not applied."""
    value = profile_updated(1, address("Flat 2"), authority="E08000015")
    with pytest.raises(PoisonRecord) as caught:
        to_delivery(record(value), AUTHORITY)
    assert caught.value.reason == "wrong_authority:data.authority"


def test_an_invalid_delivery_is_poison_and_the_reason_holds_no_value() -> None:
    """A broken postcode is named by field and rule; the planted value is nowhere in the reason."""
    value = profile_updated(1, address("Flat 2")).replace(b"CH41 6AU", b"ZZ99 PLANTED")
    with pytest.raises(PoisonRecord) as caught:
        to_delivery(record(value), AUTHORITY)
    assert caught.value.reason.startswith("invalid:")
    assert "PLANTED" not in caught.value.reason


def test_bytes_that_are_not_json_are_poison() -> None:
    """Garbage on the topic becomes a poison record, not a crash."""
    with pytest.raises(PoisonRecord):
        to_delivery(record(b"\x00not json"), AUTHORITY)
    with pytest.raises(PoisonRecord):
        to_delivery(record(None), AUTHORITY)


def test_an_acknowledgement_is_a_valid_delivery_applied_keyed_by_the_subject() -> None:
    """The ack decodes as DeliveryApplied from the authority's own source, with a stable id."""
    applied = datetime(2025, 3, 3, 10, 20, tzinfo=UTC)
    pending = [PendingAck("dec-1", SUBJECT, REFERENCE, applied)]
    now = datetime(2025, 3, 3, 10, 21, tzinfo=UTC)
    ((key, value),) = acknowledgements(AUTHORITY, pending, now)
    event = decode(value)
    assert isinstance(event, DeliveryApplied)
    assert key == SUBJECT.encode()
    assert event.source == "urn:gss:E08000012"
    assert (event.data.decision_id, event.data.applied_at) == ("dec-1", applied)
    ((_, again),) = acknowledgements(AUTHORITY, pending, now)
    assert decode(again).id == event.id
