"""The webhook process against the real broker and a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import os

import pytest
from starlette.responses import Response

from consumers import webhooks
from consumers.webhooks._endpoints import new_secret
from consumers.webhooks.receiver import Receiver, free_port, serving
from rps.settings import Settings
from schemas import ConsentEnded, DeliveryApplied, ProfileUpdated, decode
from tests.integration.webhooks.conftest import AUTHORITY, KafkaIO, register
from tests.unit.consumers.events import address, consent_ended, profile_updated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

RESIDENTS = ("9d2f6b1a-3e4c-5a7b-8c9d-0e1f2a3b4c5d", "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5")
OUTAGE_SECONDS = float(os.environ.get("RPS_TEST_WEBHOOK_OUTAGE_SECONDS", "10"))
"""How long the receiver is down in the outage test (a minute, say, for a longer run)."""


async def _deliveries(kafka_io: KafkaIO, per_resident: int) -> dict[str, list[str]]:
    """``per_resident`` updates then a consent ending for each resident; their webhook-ids."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    expected: dict[str, list[str]] = {}
    for n, subject in enumerate(RESIDENTS):
        reference = f"LCC-CT-{n:04d}"
        values = [
            profile_updated(v, address(f"Flat {v}"), subject=subject, reference=reference)
            for v in range(1, per_resident + 1)
        ]
        values.append(
            consent_ended(per_resident + 1, ["address"], subject=subject, reference=reference)
        )
        await kafka_io.produce(topic, values, key=subject.encode())
        expected[subject] = [_webhook_id(value) for value in values]
    return expected


def _webhook_id(value: bytes) -> str:
    event = decode(value)
    assert isinstance(event, ProfileUpdated | ConsentEnded)
    return webhooks.webhook_id(event.data.decision_id, event.data.version)


def _applied_in_order(receiver: Receiver) -> dict[str, list[str]]:
    by_resident: dict[str, list[str]] = {}
    for webhook_id, event in receiver.applied.items():
        by_resident.setdefault(event["subject"], []).append(webhook_id)
    return by_resident


async def _acknowledged(kafka_io: KafkaIO) -> list[str]:
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    assert all(isinstance(a, DeliveryApplied) for a in acks)
    return [a.data.decision_id for a in acks if isinstance(a, DeliveryApplied)]


async def test_deliveries_arrive_signed_verifiable_and_are_acknowledged(
    webhook_settings: Settings, kafka_io: KafkaIO
) -> None:
    """Every delivery (updates and consent.ended) verifies with standardwebhooks under the
    registered secret, comes as a structured CloudEvent, and is acknowledged once to the hub."""
    expected = await _deliveries(kafka_io, per_resident=2)
    port = free_port()
    receiver = Receiver(await register(webhook_settings, f"http://127.0.0.1:{port}/"))
    async with serving(receiver, port):
        stats = await webhooks.run(webhook_settings, AUTHORITY, stop_at_end=True)
    assert receiver.refused_signatures == 0
    assert receiver.content_types == {"application/cloudevents+json"}
    assert _applied_in_order(receiver) == expected
    assert {e["type"] for e in receiver.events()} == {
        "uk.gov.rps.profile.updated.v1",
        "uk.gov.rps.consent.ended.v1",
    }
    assert (stats.applied, stats.refused) == (6, 0)
    decisions = sorted(e["data"]["decision_id"] for e in receiver.events())
    assert sorted(await _acknowledged(kafka_io)) == decisions


async def test_a_receiver_with_another_secret_refuses_and_nothing_is_acknowledged(
    webhook_settings: Settings, kafka_io: KafkaIO
) -> None:
    """The signature really is checked: under the wrong secret every request is refused (401),
    so every delivery is dead-lettered as refused and none is acknowledged."""
    await _deliveries(kafka_io, per_resident=1)
    port = free_port()
    await register(webhook_settings, f"http://127.0.0.1:{port}/")
    receiver = Receiver(new_secret())  # not the one registered
    async with serving(receiver, port):
        stats = await webhooks.run(webhook_settings, AUTHORITY, stop_at_end=True)
    assert receiver.refused_signatures == 4
    assert (stats.applied, stats.refused) == (0, 4)
    assert await _acknowledged(kafka_io) == []
    dead = await kafka_io.read_all(kafka_io.topics.deadletter)
    assert {dict(r.headers)["rps.dlq.reason"] for r in dead} == {b"webhook_refused:http_401"}


async def test_failing_stalling_and_throttling_receiver_ends_with_each_applied_once_in_order(
    webhook_settings: Settings, kafka_io: KafkaIO
) -> None:
    """500s, a timeout, and 429 with Retry-After on the first tries: in the end each delivery
    is applied once, each resident's in order, and acknowledged once."""
    expected = await _deliveries(kafka_io, per_resident=4)
    ids = [webhook_id for ids in expected.values() for webhook_id in ids]
    troubles = {ids[0]: "500", ids[1]: "timeout", ids[2]: "429", ids[5]: "500", ids[6]: "429"}
    throttled_at: dict[str, float] = {}
    waited: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    async def hook(webhook_id: str, tries: int) -> Response | None:
        trouble = troubles.get(webhook_id)
        if trouble is None or tries > 2:
            if webhook_id in throttled_at:
                waited.setdefault(webhook_id, loop.time() - throttled_at[webhook_id])
            return None
        if trouble == "timeout":
            await asyncio.sleep(webhook_settings.webhook_timeout_seconds + 1)
            return None
        if trouble == "429":
            throttled_at[webhook_id] = loop.time()
            return Response(status_code=429, headers={"Retry-After": "2"})
        return Response(status_code=503)

    port = free_port()
    receiver = Receiver(await register(webhook_settings, f"http://127.0.0.1:{port}/"), hook)
    async with serving(receiver, port):
        stats = await webhooks.run(webhook_settings, AUTHORITY, stop_at_end=True)
    assert _applied_in_order(receiver) == expected
    assert all(receiver.tries[webhook_id] == 3 for webhook_id in troubles)
    assert waited.keys() == {ids[2], ids[6]}
    assert min(waited.values()) >= 1.9  # Retry-After: 2 honoured (the backoff alone is at most 1 s)
    assert stats.retries >= 2 * len(troubles)
    acks = await _acknowledged(kafka_io)
    assert sorted(acks) == sorted(e["data"]["decision_id"] for e in receiver.events())


async def test_receiver_down_for_a_while_gets_everything_in_order_once_it_is_back(
    webhook_settings: Settings, kafka_io: KafkaIO
) -> None:
    """Nothing listens for OUTAGE_SECONDS: the process keeps trying (connection refused), and
    once the receiver is up every delivery is applied once, in order per resident."""
    expected = await _deliveries(kafka_io, per_resident=3)
    port = free_port()
    receiver = Receiver(await register(webhook_settings, f"http://127.0.0.1:{port}/"))
    running = asyncio.create_task(webhooks.run(webhook_settings, AUTHORITY, stop_at_end=True))
    await asyncio.sleep(OUTAGE_SECONDS)
    assert not running.done()
    async with serving(receiver, port):
        stats = await asyncio.wait_for(running, timeout=120)
    assert _applied_in_order(receiver) == expected
    assert stats.retries > 0
    assert len(await _acknowledged(kafka_io)) == sum(len(ids) for ids in expected.values())
