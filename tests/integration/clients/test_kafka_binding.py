"""The CloudEvents Kafka binding through the real worker: inputs in either mode, with
extensions, are accepted; every record the hub writes is marked structured mode."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jsonschema
import orjson
from aiokafka import AIOKafkaProducer

import schemas
from rps.settings import Settings
from schemas.contracts import ASYNCAPI_FILE, CONTRACTS_DIR
from schemas.topics import Topics
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, records_of

STRUCTURED = ("content-type", b"application/cloudevents+json; charset=utf-8")
ASYNCAPI = orjson.loads((CONTRACTS_DIR / ASYNCAPI_FILE).read_bytes())
PLANTED = "QQ123456C"  # a national insurance number smuggled in as an extension
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _claim(resident: str, email: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "specversion": "1.0",
        "id": f"bind-{uuid.uuid4()}",
        "source": "urn:gss:E08000012",
        "type": schemas.ATTRIBUTE_VERIFIED,
        "subject": resident,
        "time": now.isoformat(),
        "data": {
            "attribute": "email",
            "value": email,
            "assurance": "medium",
            "method": "council_tax_record",
            "verified_at": (now - dt.timedelta(minutes=1)).isoformat(),
        },
    }


async def test_both_modes_with_extensions_are_accepted_and_outputs_are_structured(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """A binary-mode claim (``ce_traceparent``, ``content-type: application/json;
    charset=utf-8``) and a structured-mode claim carrying ``traceparent``, ``partitionkey`` and
    ``dataschema`` are both delivered; every delivery, audit, consent, subscription and control
    record carries the structured-mode ``content-type`` header, and its key and headers meet
    the AsyncAPI document's schemas for its channel. An extension is dropped: a national
    insurance number planted in one (``nino``) reaches no record the hub writes."""
    topics = Topics(worker_settings.topic_prefix)
    wirral = await publish_as("urn:gss:E08000015")
    await wirral.change_subscription(
        authority="E08000015", attribute="email", minimum_assurance="low"
    )
    residents = [str(uuid.uuid4()), str(uuid.uuid4())]
    resident_app = await publish_as("urn:org:resident-app")
    workers()
    grants = set()
    for n, resident in enumerate(residents):
        grant = await resident_app.grant_consent(
            resident=resident,
            authority="E08000015",
            attributes=["email"],
            purpose="council_tax",
            local_reference=f"WIR-{n}",
        )
        grants.add(grant.event_id)
    await audit_until(worker_settings, lambda rs: grants <= {r.data.event_id for r in rs}, workers)
    await resident_app.grant_consent(  # its expiry makes the worker write a control record
        resident=str(uuid.uuid4()),
        authority="E08000015",
        attributes=["email"],
        purpose="council_tax",
        local_reference="WIR-EXPIRING",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
    )

    binary = _claim(residents[0], "a@example.org")
    structured = _claim(residents[1], "b@example.org")
    envelope = {k: v for k, v in binary.items() if k != "data"}
    binary_headers = [(f"ce_{k}", str(v).encode()) for k, v in envelope.items()]
    binary_headers += [
        ("ce_traceparent", TRACEPARENT),
        ("ce_nino", PLANTED.encode()),
        ("content-type", b"application/json; charset=utf-8"),
    ]
    structured |= {
        "traceparent": TRACEPARENT.decode(),
        "partitionkey": residents[1],
        "dataschema": f"urn:uk-gov-rps:schema:{schemas.ATTRIBUTE_VERIFIED}",
        "datacontenttype": "application/json; charset=utf-8",
        "nino": PLANTED,
    }
    producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.attributes,
            orjson.dumps(binary["data"]),
            key=residents[0].encode(),
            headers=binary_headers,
        )
        await producer.send_and_wait(
            topics.attributes,
            orjson.dumps(structured),
            key=residents[1].encode(),
            headers=[STRUCTURED],
        )
    finally:
        await producer.stop()

    claims = {binary["id"], structured["id"]}
    audit = await audit_until(
        worker_settings,
        lambda rs: claims <= {r.data.claim_id for r in rs if r.data.decision == "delivered"},
        workers,
    )
    assert claims <= {r.data.claim_id for r in audit if r.data.decision == "delivered"}
    deliveries = await records_of(worker_settings, topics.deliveries("E08000015"), at_least=2)
    delivered = [schemas.decode(r.value, r.headers) for r in deliveries]
    assert {
        d.data.provenance.claim_id
        for d in delivered
        if isinstance(d, schemas.ProfileUpdated) and d.data.provenance
    } == claims
    written = {
        "deliveries": deliveries,
        "audit": await records_of(worker_settings, topics.audit),
        "consents": await records_of(worker_settings, topics.consents),
        "subscriptions": await records_of(worker_settings, topics.subscriptions),
        "control": await records_of(worker_settings, topics.control, at_least=1),
    }
    assert written["control"], "the consent's expiry wrote no control record"
    for name, records in written.items():
        unmarked = [r.offset for r in records if STRUCTURED not in list(r.headers)]
        assert unmarked == [], f"{name} records without the structured content-type"
        for record in records:
            message = documented(name)
            headers = {header: raw.decode() for header, raw in record.headers}
            assert meets(message["headers"], headers), f"{name} headers break the document"
            key = message["bindings"]["kafka"]["key"]
            assert meets(key, record.key.decode()), f"a {name} key breaks the document"
    for name, records in written.items():
        planted = [r.offset for r in records if PLANTED.encode() in (r.value or b"")]
        assert planted == [], f"an extension's value reached a {name} record"
    for log in workers.logs.glob("worker-*.log"):
        assert PLANTED not in log.read_text(), "an extension's value reached the worker's log"
    for record in written["control"]:
        assert meets(documented("control")["payload"], orjson.loads(record.value))


def documented(channel: str) -> dict[str, Any]:
    """The AsyncAPI document's (first) message on ``channel``."""
    ref = next(iter(ASYNCAPI["channels"][channel]["messages"].values()))["$ref"]
    message: dict[str, Any] = ASYNCAPI["components"]["messages"][ref.rsplit("/", 1)[1]]
    return message


def meets(schema: dict[str, Any], instance: Any) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)
