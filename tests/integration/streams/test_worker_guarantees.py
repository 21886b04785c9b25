"""The worker's guarantees against the real broker: poison, consent lifecycle, replay, handover,
and a crash between sending outputs and recording state."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

import schemas
from cli.spawn import start_worker, stop_worker
from producers import Publisher
from producers import events as build
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators import replay
from tests.integration.streams.conftest import (
    PublishAs,
    Workers,
    audit_until,
    events_of,
    records_of,
)

ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": "E08000012",
}
NOW = dt.datetime.now(dt.UTC)


def decided(ids: set[str]) -> Callable[[list[schemas.AuditRecorded]], bool]:
    """A predicate: every one of ``ids`` has been decided (has an audit record of its own)."""
    return lambda records: ids <= {r.data.event_id for r in records}


async def subscribe(publish_as: PublishAs, authority: str, attribute: str, level: str) -> None:
    publisher = await publish_as(schemas.source_of_authority(authority))
    await publisher.change_subscription(
        authority=authority, attribute=attribute, minimum_assurance=level
    )


async def test_poison_goes_to_dead_letter_and_the_stream_goes_on(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """Invalid bytes and a mis-keyed event are dead-lettered with reasons; the stream goes on."""
    topics = Topics(worker_settings.topic_prefix)
    workers()
    resident = str(uuid.uuid4())
    producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topics.attributes, b'{"truncated": ', key=resident.encode())
        event = build.verified(
            source="urn:gss:E08000012",
            resident=resident,
            attribute="address",
            value=ADDRESS,
            assurance="medium",
            method="council_tax_record",
            verified_at=NOW - dt.timedelta(hours=1),
            now=NOW,
        )
        await producer.send_and_wait(
            topics.attributes, schemas.encode(event), key=str(uuid.uuid4()).encode()
        )
    finally:
        await producer.stop()
    good = await (await publish_as("urn:gss:E08000012")).publish_attribute(
        resident=resident,
        attribute="email",
        value="someone@example.org",
        assurance="low",
        method="self_declared",
        verified_at=NOW - dt.timedelta(hours=1),
    )
    audit = await audit_until(worker_settings, decided({good.event_id}), workers)
    assert any(r.data.event_id == good.event_id and r.data.decision == "accepted" for r in audit)
    dead = await records_of(worker_settings, topics.deadletter, at_least=2)
    reasons = sorted(dict(r.headers)["rps.dlq.reason"].decode() for r in dead)
    assert reasons == ["invalid_event", "key_mismatch"]
    for record in dead:
        headers = dict(record.headers)
        assert headers["rps.dlq.topic"].decode() == topics.attributes
        assert int(headers["rps.dlq.offset"].decode()) >= 0
    assert {r.value for r in dead} >= {b'{"truncated": '}


async def test_consent_lifecycle_backfill_withdrawal_expiry_and_new_subscription(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """A grant backfills, a withdrawal ends and stops, expiry ends at expires_at, and a new
    subscription backfills consented residents; live state then equals the rebuilt state."""
    topics = Topics(worker_settings.topic_prefix)
    await subscribe(publish_as, "E08000015", "address", "medium")
    await subscribe(publish_as, "urn:org:dwp", "address", "medium")
    workers()
    liverpool = await publish_as("urn:gss:E08000012")
    app = await publish_as("urn:org:resident-app")
    expiring, withdrawing, widening = (str(uuid.uuid4()) for _ in range(3))
    claims = {}
    for resident in (expiring, withdrawing, widening):
        claims[resident] = await liverpool.publish_attribute(
            resident=resident,
            attribute="address",
            value=ADDRESS,
            assurance="medium",
            method="council_tax_record",
            verified_at=NOW - dt.timedelta(hours=2),
        )
    await audit_until(worker_settings, decided({c.event_id for c in claims.values()}), workers)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)  # the worker is warm by now
    await app.grant_consent(
        resident=expiring,
        authority="E08000015",
        attributes=["address"],
        purpose="council_tax",
        local_reference="WIR-EXP-1",
        expires_at=soon,
    )
    await app.grant_consent(
        resident=withdrawing,
        authority="urn:org:dwp",
        attributes=["address"],
        purpose="benefits",
        local_reference="DWP-W-1",
    )
    await app.grant_consent(
        resident=widening,
        authority="E08000015",
        attributes=["address", "email"],
        purpose="council_tax",
        local_reference="WIR-WIDE-1",
    )
    email = await liverpool.publish_attribute(
        resident=widening,
        attribute="email",
        value="wide@example.org",
        assurance="high",
        method="council_tax_record",
        verified_at=NOW - dt.timedelta(hours=1),
    )
    await audit_until(worker_settings, decided({email.event_id}), workers)
    withdrawal = await app.withdraw_consent(resident=withdrawing, authority="urn:org:dwp")
    await audit_until(worker_settings, decided({withdrawal.event_id}), workers)
    after = await liverpool.publish_attribute(
        resident=withdrawing,
        attribute="address",
        value={**ADDRESS, "uprn": "38099999"},
        assurance="high",
        method="council_tax_record",
        verified_at=NOW - dt.timedelta(minutes=30),
    )
    await subscribe(publish_as, "E08000015", "email", "medium")

    def progress(records: list[schemas.AuditRecorded]) -> tuple[bool, bool, bool]:
        ended = {(r.subject, r.data.reason) for r in records if r.data.decision == "consent_ended"}
        emailed = any(
            r.data.decision == "delivered" and r.data.claim_id == email.event_id for r in records
        )
        return (
            (expiring, "expired") in ended,
            emailed,
            after.event_id in {r.data.event_id for r in records},
        )

    audit = await audit_until(worker_settings, lambda rs: all(progress(rs)), workers, wait=60)
    expired, backfilled, decided_after = progress(audit)
    assert expired, "the consent that expired was not ended"
    assert backfilled, "the new subscription did not backfill the consented resident"
    assert decided_after
    wirral = await events_of(worker_settings, topics.deliveries("E08000015"))
    dwp = await events_of(worker_settings, topics.deliveries("urn:org:dwp"))
    refs = [
        (type(e).__name__, e.data.local_reference)
        for e in wirral
        if isinstance(e, schemas.ProfileUpdated | schemas.ConsentEnded)
    ]
    assert ("ProfileUpdated", "WIR-EXP-1") in refs  # backfilled on the grant
    assert ("ConsentEnded", "WIR-EXP-1") in refs  # ended at expiry
    ended = next(e for e in wirral if isinstance(e, schemas.ConsentEnded))
    assert ended.data.reason == "expired"
    assert ended.time >= soon
    emailed = [
        e for e in wirral if isinstance(e, schemas.ProfileUpdated) and e.data.attribute == "email"
    ]
    assert [e.data.local_reference for e in emailed] == ["WIR-WIDE-1"]  # the subscription backfill
    assert [type(e).__name__ for e in dwp] == ["ProfileUpdated", "ConsentEnded"]
    withheld = [
        r for r in audit if r.data.claim_id == after.event_id and r.data.authority == "urn:org:dwp"
    ]
    assert [(r.data.decision, r.data.reason) for r in withheld] == [
        ("withheld", "consent_withdrawn")
    ]
    await _live_equals_rebuilt(worker_settings)


async def _live_equals_rebuilt(settings: Settings, wait: float = 30) -> None:
    deadline = time.monotonic() + wait
    while True:
        rebuilt = await replay.rebuild(settings)
        differing = replay.differences(rebuilt.states, await replay.live(settings))
        if not differing or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert rebuilt.states
    assert differing == []


async def _story(publisher: Publisher, residents: list[str], tag: str) -> set[str]:
    """Consent to Wirral and DWP, then two address claims, per resident; returns event ids."""
    ids: set[str] = set()
    for n, resident in enumerate(residents):
        for authority, ref in (("E08000015", f"W{tag}{n}"), ("urn:org:dwp", f"D{tag}{n}")):
            grant = build.consent_granted(
                source="urn:org:resident-app",
                resident=resident,
                authority=authority,
                attributes=["address"],
                purpose="tell_us_once",
                local_reference=ref,
                now=NOW - dt.timedelta(hours=3),
            )
            await publisher.publish(grant)
            ids.add(grant.id)
        for hours in (2, 1):
            event = build.verified(
                source="urn:gss:E08000012",
                resident=resident,
                attribute="address",
                value={**ADDRESS, "uprn": f"3801{n:04d}{hours}"},
                assurance="medium",
                method="council_tax_record",
                verified_at=NOW - dt.timedelta(hours=hours, minutes=n % 7),
                now=NOW,
            )
            await publisher.publish(event)
            ids.add(event.id)
    return ids


def _final_by_version(deliveries: list[schemas.Event]) -> dict[tuple[str, str], str | None]:
    """What an idempotent subscriber holds: per (reference, attribute) the highest version."""
    best: dict[tuple[str, str], tuple[int, str | None]] = {}
    for event in deliveries:
        assert isinstance(event, schemas.ProfileUpdated)
        key = (event.data.local_reference, event.data.attribute)
        claim = event.data.provenance.claim_id if event.data.provenance else None
        if key not in best or event.data.version > best[key][0]:
            best[key] = (event.data.version, claim)
    return {k: v for k, (_, v) in best.items()}


def _same_decision_same_content(deliveries: list[schemas.Event]) -> None:
    seen: dict[str, str] = {}
    for event in deliveries:
        body = event.data.model_dump_json()
        assert seen.setdefault(event.id, body) == body, "one decision id with two contents"


async def test_two_workers_share_partitions_and_a_stopped_one_hands_over(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """With two workers, stopping one mid-run loses nothing and applies nothing twice."""
    topics = Topics(worker_settings.topic_prefix)
    await subscribe(publish_as, "E08000015", "address", "medium")
    await subscribe(publish_as, "urn:org:dwp", "address", "medium")
    first, _second = workers(), workers()
    publisher = await publish_as("urn:org:resident-app")
    unbound = Publisher(worker_settings)
    await unbound.start()
    try:
        residents = [str(uuid.uuid4()) for _ in range(40)]
        ids = await _story(unbound, residents[:20], "a")
        await audit_until(worker_settings, decided(ids), workers)
        workers.stop(first)
        ids |= await _story(unbound, residents[20:], "b")
    finally:
        await unbound.close()
    del publisher
    audit = await audit_until(worker_settings, decided(ids), workers, wait=240)
    assert ids <= {r.data.event_id for r in audit}
    for authority, letter in (("E08000015", "W"), ("urn:org:dwp", "D")):
        deliveries = await events_of(worker_settings, topics.deliveries(authority))
        _same_decision_same_content(deliveries)
        held = _final_by_version(deliveries)
        assert len(held) == 40
        assert all(ref.startswith(letter) and claim for (ref, _), claim in held.items())
    await _live_equals_rebuilt(worker_settings)


@pytest.mark.parametrize(
    ("after", "found_by"),
    [
        (2, "reading from the hole again"),  # the next record shows the hole at once
        (7, "reading them again"),  # the last five: nothing after them, the guard's timer
    ],
    ids=["hole", "tail"],
)
async def test_inputs_fetched_but_never_handed_to_the_worker_are_read_again_in_order(
    worker_settings: Settings, publish_as: PublishAs, tmp_path: Path, after: int, found_by: str
) -> None:
    """Records the consumer moved past without handing them over (as Faust can around a
    rebalance) are read again and decided, in order: the records after them wait, so a
    resident's inputs are decided in the order they were published."""
    dropping = worker_settings.model_copy(
        update={
            "fault_drop_after": after,
            "fault_drop_count": 5,
            "worker_stall_check_seconds": 1.0,
        }
    )
    log = tmp_path / "dropping.log"
    process = start_worker(dropping, log)
    try:
        publisher = await publish_as("urn:gss:E08000012")
        resident = str(uuid.uuid4())
        published: list[str] = []
        for n in range(12):
            receipt = await publisher.publish_attribute(
                resident=resident,
                attribute="email",
                value=f"resident{n}@example.org",
                assurance="medium",
                method="council_tax_record",
                verified_at=NOW - dt.timedelta(hours=12 - n),
            )
            published.append(receipt.event_id)
        ids = set(published)
        audit = await audit_until(worker_settings, decided(ids), wait=90)
        assert process.poll() is None, log.read_text()[-2000:]
    finally:
        stop_worker(process)
    output = log.read_text()
    assert output.count("fault injected: input dropped") == 5, output[-3000:]
    assert ids <= {r.data.event_id for r in audit}, output[-3000:]
    assert found_by in output, output[-3000:]
    first_decided = list(dict.fromkeys(r.data.event_id for r in audit if r.data.event_id in ids))
    assert first_decided == published  # one resident, one partition: in publish order


@pytest.mark.parametrize("stage", ["recorded", "sent"])
async def test_a_crash_between_recording_sending_and_committing_has_no_second_effect(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs, stage: str
) -> None:
    """Killed once a decision is recorded but its outputs unsent, or once its outputs are sent
    but its offset uncommitted, a restarted worker loses nothing and decides nothing twice."""
    topics = Topics(worker_settings.topic_prefix)
    await subscribe(publish_as, "E08000015", "address", "medium")
    await subscribe(publish_as, "urn:org:dwp", "address", "medium")
    crashing = worker_settings.model_copy(update={"fault_crash_after": 25, "fault_crash_at": stage})
    log = worker_settings.state_dir / "crashing.log"
    process = start_worker(crashing, log)
    try:
        unbound = Publisher(worker_settings)
        await unbound.start()
        try:
            ids = await _story(unbound, [str(uuid.uuid4()) for _ in range(15)], "c")
        finally:
            await unbound.close()
        for _ in range(600):
            if process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert process.returncode == 86, log.read_text()[-2000:]
    finally:
        stop_worker(process)  # never leak it, even when the assertion fails
    workers()
    audit = await audit_until(worker_settings, decided(ids), workers, wait=240)
    assert ids <= {r.data.event_id for r in audit}
    for authority in ("E08000015", "urn:org:dwp"):
        deliveries = await events_of(worker_settings, topics.deliveries(authority))
        _same_decision_same_content(deliveries)
        held = _final_by_version(deliveries)
        assert len(held) == 15
        assert all(claim for claim in held.values())
    await _live_equals_rebuilt(worker_settings)
