"""`rps deadletter list|show|redrive` and `rps status` against a real worker and broker."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

import schemas
from producers import events as build
from rps.reading import partitions_of
from rps.settings import Settings
from schemas.topics import Topics
from streams.runtime.names import faust_id
from tests.integration.operations.probe import free_port, readiness, until
from tests.integration.operators.conftest import rps
from tests.integration.streams.conftest import Workers, audit_until, records_of

PLANTED = "planted-secret-value-17"


async def test_a_dead_letter_is_listed_shown_redriven_once_and_counted_in_status(
    worker_settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    """A poison input is listed by reason without its value; --values shows it and records
    the viewing; a fixed value redriven is decided by the worker; a second redrive is refused;
    `rps status` shows the worker's group, its member, no lag, the dead letter by reason and
    the worker ready."""
    topics = Topics(worker_settings.topic_prefix)
    port = free_port()
    workers.settings = worker_settings.model_copy(update={"metrics_port": port})
    workers()
    resident = str(uuid.uuid4())
    producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
    await producer.start()
    try:
        poison = json.dumps({"broken": PLANTED}).encode()
        await producer.send_and_wait(topics.attributes, poison, key=resident.encode())
    finally:
        await producer.stop()
    (dead,) = await records_of(worker_settings, topics.deadletter, at_least=1)
    position = f"{dead.partition}:{dead.offset}"

    listed = await rps(worker_settings, "deadletter", "list")
    assert listed.code == 0, listed.err
    assert position in listed.out
    assert "invalid_event" in listed.out
    assert f"from {topics.attributes}:" in listed.out
    assert PLANTED not in listed.out + listed.err

    shown = await rps(worker_settings, "deadletter", "show", position)
    assert shown.code == 0, shown.err
    assert "reason: invalid_event" in shown.out
    assert PLANTED not in shown.out + shown.err
    assert await partitions_of(worker_settings, topics.operations) == []  # nothing recorded

    viewed = await rps(worker_settings, "deadletter", "show", position, "--values")
    assert viewed.code == 0, viewed.err
    assert PLANTED in viewed.out
    assert PLANTED not in viewed.err  # the log line says who looked, never what they saw
    assert "dead letter values viewed" in viewed.err
    (action,) = await records_of(worker_settings, topics.operations, at_least=1)
    assert json.loads(action.value)["action"] == "viewed"
    assert action.key == position.encode()

    now = dt.datetime.now(dt.UTC)
    fixed = build.verified(
        source="urn:gss:E08000012",
        resident=resident,
        attribute="email",
        value="someone@example.org",
        assurance="low",
        method="self_declared",
        verified_at=now - dt.timedelta(hours=1),
        now=now,
    )
    fix = tmp_path / "fixed.json"
    fix.write_bytes(schemas.encode(fixed))
    redriven = await rps(
        worker_settings, "deadletter", "redrive", position, "--value-file", str(fix)
    )
    assert redriven.code == 0, redriven.err
    assert f"redriven {position} to {topics.attributes}" in redriven.out
    audit = await audit_until(
        worker_settings, lambda rs: any(r.data.event_id == fixed.id for r in rs), workers
    )
    assert [r.data.decision for r in audit if r.data.event_id == fixed.id] == ["accepted"]
    inbound = await records_of(worker_settings, topics.attributes, at_least=2)
    again = [r for r in inbound if r.value == schemas.encode(fixed)]
    assert len(again) == 1
    assert not any(name.startswith("rps.dlq.") for name, _ in again[0].headers)

    refused = await rps(worker_settings, "deadletter", "redrive", position)
    assert refused.code == 1
    assert "redriven already" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    inbound = await records_of(worker_settings, topics.attributes)
    assert sum(1 for r in inbound if r.value == schemas.encode(fixed)) == 1

    assert await until(lambda: readiness(port) == (200, []), check=workers.check)
    status = await rps(worker_settings, "status", "--json", "--worker", f"http://127.0.0.1:{port}")
    assert status.code == 0, status.err
    report = json.loads(status.out)
    assert report["dead_letters"] == {"invalid_event": 1}
    assert report["redriven"] == 1
    (group,) = [g for g in report["groups"] if g["group"] == faust_id(worker_settings)]
    assert group["state"] == "Stable"
    assert len(group["members"]) == 1
    inputs = {p["topic"] for p in group["partitions"]}
    assert topics.attributes in inputs
    (worker,) = report["workers"]
    assert worker["ready"] is True
    assert worker["restore_remaining"] == 0
    text = await rps(worker_settings, "status")
    assert "dead letters: 1 (invalid_event 1); 1 redriven" in text.out
