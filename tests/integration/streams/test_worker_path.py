"""The worker end to end on the real broker: gate, deliveries, audit, dead letters."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

import schemas
from rps.settings import Settings
from schemas.topics import Topics
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, events_of

ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": "E08000012",
}


def ago(minutes: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_a_consented_change_reaches_exactly_the_authorities_allowed(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs, store: str
) -> None:
    """A medium address from Liverpool reaches consented Wirral, not DVLA (high) nor Liverpool,
    with the profile table in memory or in RocksDB."""
    workers.settings = worker_settings.model_copy(update={"store": store})
    topics = Topics(worker_settings.topic_prefix)
    resident = str(uuid.uuid4())
    for authority, level in (
        ("E08000015", "medium"),
        ("urn:org:dvla", "high"),
        ("E08000012", "low"),
    ):
        subscriber = await publish_as(schemas.source_of_authority(authority))
        await subscriber.change_subscription(
            authority=authority, attribute="address", minimum_assurance=level
        )
    resident_app = await publish_as("urn:org:resident-app")
    workers()
    grants = set()
    for authority, ref in (
        ("E08000015", "WIR-77"),
        ("urn:org:dvla", "DVLA-1"),
        ("E08000012", "LIV-9"),
    ):
        grant = await resident_app.grant_consent(
            resident=resident,
            authority=authority,
            attributes=["address"],
            purpose="council_tax",
            local_reference=ref,
        )
        grants.add(grant.event_id)
    # Consents and attributes travel on two topics: wait for the consents to be decided so
    # the claim meets them (the other order backfills, and is covered elsewhere).
    await audit_until(worker_settings, lambda rs: grants <= {r.data.event_id for r in rs}, workers)
    liverpool = await publish_as("urn:gss:E08000012")
    receipt = await liverpool.publish_attribute(
        resident=resident,
        attribute="address",
        value=ADDRESS,
        assurance="medium",
        method="council_tax_record",
        verified_at=ago(5),
    )
    audit = await audit_until(
        worker_settings,
        lambda rs: sum(1 for r in rs if r.data.claim_id == receipt.event_id) >= 4,
        workers,
    )
    about = {
        r.data.authority: (r.data.decision, r.data.reason)
        for r in audit
        if r.data.claim_id == receipt.event_id and r.data.authority
    }
    assert about == {
        "E08000015": ("delivered", None),
        "urn:org:dvla": ("withheld", "below_minimum_assurance"),
        "E08000012": ("withheld", "own_claim"),
    }
    deliveries = await events_of(worker_settings, topics.deliveries("E08000015"), at_least=1)
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert isinstance(delivery, schemas.ProfileUpdated)
    assert delivery.data.local_reference == "WIR-77"
    assert delivery.data.provenance is not None
    assert delivery.data.provenance.claim_id == receipt.event_id
    assert delivery.subject != resident
    assert resident not in delivery.model_dump_json()
