"""Clients no one in the hub wrote, against the real broker and worker: a Node.js publisher
(the official ``cloudevents`` npm package, kafkajs) and a Java reader (the official
CloudEvents Java SDK, a JSON Schema validator). ``make clients-setup`` builds them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

import schemas
from rps.settings import Settings
from schemas.contracts import CONTRACTS_DIR, JSON_SCHEMA_DIR
from schemas.samples import example_lines
from schemas.topics import Topics
from tests.conftest import TopicFactory
from tests.integration.clients.conftest import CLIENTS, run
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, records_of

JAVA_MAIN = "uk.gov.rps.clients.ValidateDeliveries"
WIRRAL = "E08000015"


async def validate_in_java(settings: Settings, topic: str, expected: int) -> tuple[int, str]:
    """Run the Java reader over ``topic``; its exit code and output."""
    classpath = (CLIENTS / "java" / "target" / "classpath.txt").read_text().strip()
    code, out, err = await run(
        "java",
        "-cp",
        f"{CLIENTS / 'java' / 'target' / 'classes'}:{classpath}",
        JAVA_MAIN,
        settings.bootstrap_servers,
        topic,
        str(CONTRACTS_DIR / JSON_SCHEMA_DIR),
        str(expected),
        "60",
    )
    return code, out + err


async def test_node_publishes_the_worker_delivers_java_validates_every_delivery(
    clients_built: None,
    worker_settings: Settings,
    workers: Workers,
    publish_as: PublishAs,
    tmp_path: Path,
) -> None:
    """Attribute events built by the CloudEvents npm SDK and sent by kafkajs (binary and
    structured mode) are accepted and delivered by the worker; the Java CloudEvents SDK reads
    every record of the delivery topic (deliveries and a consent ending) and each one meets
    its generated JSON Schema."""
    topics = Topics(worker_settings.topic_prefix)
    wirral = await publish_as(schemas.source_of_authority(WIRRAL))
    await wirral.change_subscription(authority=WIRRAL, attribute="email", minimum_assurance="low")
    residents = [str(uuid.uuid4()) for _ in range(4)]
    resident_app = await publish_as("urn:org:resident-app")
    workers()
    grants = set()
    for n, resident in enumerate(residents):
        receipt = await resident_app.grant_consent(
            resident=resident,
            authority=WIRRAL,
            attributes=["email"],
            purpose="council_tax",
            local_reference=f"WIR-CT-{n}",
        )
        grants.add(receipt.event_id)
    await audit_until(worker_settings, lambda rs: grants <= {r.data.event_id for r in rs}, workers)

    verified_at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).isoformat()
    claims = [
        {
            "source": "urn:gss:E08000012",
            "resident": resident,
            "attribute": "email",
            "value": f"resident{n}@example.org",
            "assurance": "medium",
            "method": "council_tax_record",
            "verified_at": verified_at,
        }
        for n, resident in enumerate(residents)
    ]
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps(claims))
    code, out, err = await run(
        "node",
        str(CLIENTS / "node" / "publish-attributes.mjs"),
        worker_settings.bootstrap_servers,
        topics.attributes,
        str(claims_file),
    )
    assert code == 0, err
    sent = [json.loads(line) for line in out.splitlines()]
    assert {s["mode"] for s in sent} == {"binary", "structured"}
    ids = {s["id"] for s in sent}
    assert len(ids) == len(residents)

    audit = await audit_until(
        worker_settings,
        lambda rs: ids <= {r.data.claim_id for r in rs if r.data.decision == "delivered"},
        workers,
    )
    assert ids <= {r.data.claim_id for r in audit if r.data.decision == "delivered"}
    assert not [r for r in audit if r.data.decision == "rejected"]

    withdrawal = await resident_app.withdraw_consent(resident=residents[0], authority=WIRRAL)
    await audit_until(
        worker_settings,
        lambda rs: any(
            r.data.event_id == withdrawal.event_id and r.data.decision == "consent_ended"
            for r in rs
        ),
        workers,
    )
    topic = topics.deliveries(WIRRAL)
    delivered = [
        schemas.decode(r.value, r.headers) for r in await records_of(worker_settings, topic)
    ]
    assert {type(e) for e in delivered} == {schemas.ProfileUpdated, schemas.ConsentEnded}
    assert {
        e.data.provenance.claim_id
        for e in delivered
        if isinstance(e, schemas.ProfileUpdated) and e.data.provenance
    } == ids

    code, output = await validate_in_java(worker_settings, topic, len(delivered))
    assert code == 0, output
    assert f"{len(delivered)} records read from {topic}, 0 problems" in output


async def test_the_java_reader_refuses_a_record_without_the_binding_header(
    clients_built: None, settings: Settings, topic_factory: TopicFactory
) -> None:
    """The Java check has teeth: a delivery written without the structured ``content-type``
    header is one the CloudEvents Java SDK cannot read, and the reader says so and fails."""
    topic = await topic_factory(f"deliveries.{WIRRAL}.v1")
    assert topic == Topics(settings.topic_prefix).deliveries(WIRRAL)
    line = example_lines(schemas.PROFILE_UPDATED)[0]
    subject = json.loads(line)["subject"].encode()
    producer = AIOKafkaProducer(**settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic, line, key=subject)
    finally:
        await producer.stop()
    code, output = await validate_in_java(settings, topic, 1)
    assert code == 1, output
    assert "the CloudEvents SDK could not read it" in output
