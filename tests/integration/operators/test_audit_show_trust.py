"""`rps audit show` names the verified signer and voucher, and says when an authority kept a
delivery aside as a reference conflict."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

import schemas
from cli.spawn import environment
from rps.settings import Settings
from schemas.topics import Topics

RPS = str(Path(sys.executable).with_name("rps"))


def rps(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RPS, *args],
        env=environment(settings, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_signer_and_a_conflict_acknowledgement_are_shown(settings: Settings) -> None:
    """The gateway that vouched is printed with the publisher, and a delivery acknowledged with
    status conflict is printed as a conflict, not as applied."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    resident, pseudonym, decision = str(uuid.uuid4()), str(uuid.uuid4()), f"dec-{uuid.uuid4()}"
    audit = schemas.AuditRecorded.model_validate(
        {
            "specversion": "1.0",
            "id": f"audit-{uuid.uuid4()}",
            "source": schemas.HUB_SOURCE,
            "type": schemas.AUDIT_RECORDED,
            "subject": resident,
            "time": now,
            "data": {
                "decision": "delivered",
                "event_id": "claim-1",
                "event_type": schemas.ATTRIBUTE_VERIFIED,
                "event_source": "urn:gss:E08000012",
                "attribute": "address",
                "authority": "E08000015",
                "decision_id": decision,
                "version": 1,
                "signed_with": "urn:org:rps-gateway#2026a",
                "vouched_by": "urn:org:rps-gateway",
            },
        }
    )
    ack = schemas.DeliveryApplied.model_validate(
        {
            "specversion": "1.0",
            "id": f"ack-{uuid.uuid4()}",
            "source": "urn:gss:E08000015",
            "type": schemas.DELIVERY_APPLIED,
            "subject": pseudonym,
            "time": now,
            "data": {
                "authority": "E08000015",
                "decision_id": decision,
                "local_reference": "WIR-CT-1",
                "applied_at": now,
                "status": "conflict",
            },
        }
    )
    topics = Topics(settings.topic_prefix)
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topics.audit, schemas.encode(audit), key=resident.encode())
        await producer.send_and_wait(
            topics.acknowledgements, schemas.encode(ack), key=pseudonym.encode()
        )
    finally:
        await producer.stop()
    shown = rps(settings, "audit", "show", resident)
    assert shown.returncode == 0, shown.stderr
    assert "CONFLICT (not applied)" in shown.stdout
    assert "urn:gss:E08000012 via urn:org:rps-gateway" in shown.stdout
    assert "origin proven by key urn:org:rps-gateway#2026a" in shown.stdout
    as_json = rps(settings, "audit", "show", resident, "--json")
    assert '"acknowledged_status": "conflict"' in as_json.stdout
    assert '"signed_with": "urn:org:rps-gateway#2026a"' in as_json.stdout
