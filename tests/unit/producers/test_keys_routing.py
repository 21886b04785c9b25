"""The key and topic of each event type, decided by producers.keys and producers.routing."""

from __future__ import annotations

import datetime as dt

import pytest

from producers import NotPublishable, key_for, topic_for
from producers import events as build
from schemas import PROFILE_UPDATED, decode
from schemas.samples import example_lines
from schemas.topics import Topics
from tests.unit.producers.support import RESIDENT, SOURCE

NOW = dt.datetime.now(dt.UTC)
TOPICS = Topics("unit")


def test_attribute_events_are_keyed_by_resident_and_go_to_the_attributes_topic() -> None:
    """A verified attribute is keyed by its subject (the resident) and routed to attributes."""
    event = build.verified(
        source=SOURCE,
        resident=RESIDENT,
        attribute="email",
        value="a@example.com",
        assurance="low",
        method="self_asserted",
        verified_at=NOW,
        now=NOW,
    )
    assert key_for(event) == RESIDENT.encode()
    assert topic_for(event, TOPICS) == "unit.attributes.v1"


def test_retractions_go_to_the_attributes_topic_keyed_by_resident() -> None:
    """A retraction shares its claim's topic and key, so it stays in order with the claim."""
    event = build.retracted(
        source=SOURCE,
        resident=RESIDENT,
        claim_id="claim-1",
        attribute="email",
        reason="mistyped",
        now=NOW,
    )
    assert (key_for(event), topic_for(event, TOPICS)) == (RESIDENT.encode(), "unit.attributes.v1")


def test_consent_events_go_to_the_consents_topic_keyed_by_resident() -> None:
    """Consent granted and withdrawn are co-partitioned with attributes by the resident key."""
    granted = build.consent_granted(
        source="urn:org:rps-resident-app",
        resident=RESIDENT,
        authority="E08000012",
        attributes=["address"],
        purpose="council_tax",
        local_reference="LCC-1",
        now=NOW,
    )
    withdrawn = build.consent_withdrawn(
        source="urn:org:rps-resident-app",
        resident=RESIDENT,
        authority="E08000012",
        attributes="all",
        now=NOW,
    )
    for event in (granted, withdrawn):
        assert (key_for(event), topic_for(event, TOPICS)) == (RESIDENT.encode(), "unit.consents.v1")


def test_subscription_changes_are_keyed_by_authority_and_attribute() -> None:
    """The compacted subscriptions topic keeps one record per (authority, attribute) key."""
    event = build.subscription_changed(
        source=SOURCE,
        authority="E08000012",
        attribute="address",
        minimum_assurance="medium",
        active=True,
        now=NOW,
    )
    assert key_for(event) == b"E08000012|address"
    assert topic_for(event, TOPICS) == "unit.subscriptions.v1"


def test_outbound_types_are_not_publishable() -> None:
    """A delivery (profile.updated) has no inbound topic: routing refuses it."""
    event = decode(example_lines(PROFILE_UPDATED)[0])
    with pytest.raises(NotPublishable) as refused:
        topic_for(event, TOPICS)
    assert refused.value.errors[0].field == "type"
