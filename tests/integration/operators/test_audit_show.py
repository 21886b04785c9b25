"""`rps audit show RESIDENT` against a real worker: every decision in order, acknowledgements
matched, no personal values."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from aiokafka import AIOKafkaProducer

import schemas
from producers import events as build
from rps.settings import Settings
from schemas.topics import Topics
from tests.integration.operators.conftest import decided, rps
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, events_of

ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": "E08000012",
}


async def test_audit_show_tells_one_residents_story_with_acknowledgements(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """A claim delivered to Wirral and withheld from DWP (no consent) shows both decisions, the
    publisher and assurance, and Wirral's acknowledgement; the address itself never appears."""
    now = dt.datetime.now(dt.UTC)
    workers()
    for authority in ("E08000015", "urn:org:dwp"):
        publisher = await publish_as(schemas.source_of_authority(authority))
        await publisher.change_subscription(
            authority=authority, attribute="address", minimum_assurance="medium"
        )
    resident = str(uuid.uuid4())
    grant = build.consent_granted(
        source="urn:org:rps-resident-app",
        resident=resident,
        authority="E08000015",
        attributes=["address"],
        purpose="tell_us_once",
        local_reference="WIRRAL-CT-0042",
        now=now - dt.timedelta(minutes=5),
    )
    claim = build.verified(
        source="urn:gss:E08000012",
        resident=resident,
        attribute="address",
        value=ADDRESS,
        assurance="medium",
        method="council_tax_record",
        verified_at=now - dt.timedelta(minutes=1),
        now=now,
    )
    await (await publish_as("urn:org:rps-resident-app")).publish(grant)
    await audit_until(worker_settings, decided({grant.id}), workers)  # two topics: no order
    await (await publish_as("urn:gss:E08000012")).publish(claim)
    await audit_until(worker_settings, decided({grant.id, claim.id}), workers)

    topics = Topics(worker_settings.topic_prefix)
    (delivery,) = await events_of(worker_settings, topics.deliveries("E08000015"), at_least=1)
    assert isinstance(delivery, schemas.ProfileUpdated)
    ack = schemas.DeliveryApplied.model_validate(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "urn:gss:E08000015",
            "type": "uk.gov.rps.delivery.applied.v1",
            "subject": delivery.subject,
            "time": now,
            "data": {
                "authority": "E08000015",
                "decision_id": delivery.data.decision_id,
                "local_reference": "WIRRAL-CT-0042",
                "applied_at": now,
            },
        }
    )
    producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topics.acknowledgements, schemas.encode(ack), b"E08000015")
    finally:
        await producer.stop()

    shown = await rps(worker_settings, "audit", "show", resident, "--json")
    assert shown.code == 0, shown.err
    lines = json.loads(shown.out)["decisions"]
    times = [line["time"] for line in lines]
    assert times == sorted(times)
    delivered = [line for line in lines if line["decision"] == "delivered"]
    assert [(d["authority"], d["reported_by"], d["assurance"]) for d in delivered] == [
        ("E08000015", "urn:gss:E08000012", "medium")
    ]
    assert delivered[0]["acknowledged_by"] == "urn:gss:E08000015"
    withheld = [line for line in lines if line["decision"] == "withheld"]
    assert [(w["authority"], w["reason"]) for w in withheld] == [("urn:org:dwp", "no_consent")]
    assert {"accepted", "consent_recorded"} <= {line["decision"] for line in lines}

    text = await rps(worker_settings, "audit", "show", resident)
    assert text.code == 0, text.err
    assert "delivered" in text.out
    assert "no_consent" in text.out
    for value in ("L2 2DH", "Dale Street", "38012345", "WIRRAL-CT-0042"):
        assert value not in shown.out + text.out
