"""The webhook process's metrics and health, scraped over HTTP as Prometheus and a supervisor
would, against the real broker and a real receiver on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from prometheus_client import REGISTRY
from starlette.responses import Response

from consumers.webhooks import open_endpoints, webhook_id
from consumers.webhooks._relay import Relay
from consumers.webhooks.receiver import Receiver, serving
from rps.settings import Settings
from schemas import ProfileUpdated, decode
from schemas.topics import authority_slug
from tests.integration.operations.probe import (
    Samples,
    free_port,
    readiness,
    scrape,
    until,
    value,
)
from tests.integration.webhooks.conftest import AUTHORITY, KafkaIO, register
from tests.unit.consumers.events import address, profile_updated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

RESIDENTS = ("9d2f6b1a-3e4c-5a7b-8c9d-0e1f2a3b4c5d", "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5")
PER_RESIDENT = 3
NAMES = (
    "rps_webhook_deliveries_total",
    "rps_webhook_attempts_total",
    "rps_webhook_acknowledged_total",
    "rps_webhook_post_seconds_count",
)


class _Held(ConsumerRebalanceListener):  # type: ignore[misc]
    """A group member that, asked to give its partitions up, holds the rebalance until let go."""

    def __init__(self) -> None:
        self.assigned = asyncio.Event()
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        if self.assigned.is_set():
            self.asked.set()
            await self.release.wait()

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.assigned.set()


def _counted() -> Samples:
    """This process's webhook samples now, straight from the registry (counters only grow)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name in NAMES
    }


async def test_metrics_count_the_deliveries_and_ready_waits_for_the_group(
    webhook_settings: Settings, kafka_io: KafkaIO
) -> None:
    """/readyz answers 503 naming ``joined`` while the relay cannot join its group, and 200
    once it has; /metrics then counts as applied, acknowledged and answered 2xx every delivery
    the receiver applied, one refusal (422) and one transient answer (503), the endpoint's
    latency for every answer, and a consumer lag of zero once caught up."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    sent: list[bytes] = []
    for n, subject in enumerate(RESIDENTS):
        values = [
            profile_updated(v, address(f"Flat {v}"), subject=subject, reference=f"LCC-CT-{n:04d}")
            for v in range(1, PER_RESIDENT + 1)
        ]
        await kafka_io.produce(topic, values, key=subject.encode())
        sent.extend(values)
    refused, transient = _webhook_id(sent[PER_RESIDENT + 1]), _webhook_id(sent[2])

    async def answer(webhook_id: str, tries: int) -> Response | None:
        if webhook_id == refused:
            return Response(status_code=422)
        if webhook_id == transient and tries == 1:
            return Response(status_code=503)
        return None

    port, metrics_port = free_port(), free_port()
    settings = webhook_settings.model_copy(update={"metrics_port": metrics_port})
    before = _counted()
    holder_listener = _Held()
    holder = AIOKafkaConsumer(
        group_id=f"rps-webhooks-{authority_slug(AUTHORITY)}",
        enable_auto_commit=False,
        **settings.kafka_client_options(),
    )
    await holder.start()
    holder.subscribe([topic], listener=holder_listener)
    polling = asyncio.create_task(_poll(holder))
    receiver = Receiver(await register(settings, f"http://127.0.0.1:{port}/"), answer)
    try:
        await asyncio.wait_for(holder_listener.assigned.wait(), timeout=60)
        async with (
            serving(receiver, port),
            open_endpoints(settings) as store,
            aiohttp.ClientSession() as http,
        ):
            relay = Relay(settings, AUTHORITY, store, http)
            running = asyncio.create_task(relay.run())
            try:
                await asyncio.wait_for(holder_listener.asked.wait(), timeout=60)
                status, unmet = await asyncio.to_thread(readiness, metrics_port)
                assert (status, unmet) == (503, ["joined"])
                await asyncio.sleep(2)  # still held: still not ready
                assert await asyncio.to_thread(readiness, metrics_port) == (503, ["joined"])
                holder_listener.release.set()
                polling.cancel()
                await holder.stop()
                assert await until(lambda: readiness(metrics_port) == (200, []), wait=120)
                applied = len(sent) - 1
                assert await until(
                    lambda: _delta(scrape(metrics_port), before, "applied") == applied,
                    wait=120,
                ), scrape(metrics_port)
                samples = scrape(metrics_port)
                assert len(receiver.applied) == applied
                assert _delta(samples, before, "refused") == 1
                delta = _changes(samples, before)
                assert delta("rps_webhook_acknowledged_total") == applied
                assert delta("rps_webhook_attempts_total", result="2xx") == applied
                assert delta("rps_webhook_attempts_total", result="4xx") == 1
                assert delta("rps_webhook_attempts_total", result="5xx") == 1
                assert delta("rps_webhook_post_seconds_count") == len(sent) + 1

                def caught_up() -> bool:
                    lag = [
                        v
                        for (name, labels), v in scrape(metrics_port).items()
                        if name == "rps_consumer_lag_records" and ("topic", topic) in labels
                    ]
                    return bool(lag) and all(v == 0 for v in lag)

                assert await until(caught_up, wait=30)
                assert (await asyncio.to_thread(lambda: readiness(metrics_port)))[0] == 200
            finally:
                relay.stop()
                await running
    finally:
        holder_listener.release.set()
        polling.cancel()
        await holder.stop()


async def _poll(consumer: AIOKafkaConsumer) -> None:
    """Keep the holding member in its group (it reads nothing it keeps)."""
    while True:
        await consumer.getmany(timeout_ms=200)


def _webhook_id(value: bytes) -> str:
    event = decode(value)
    assert isinstance(event, ProfileUpdated)
    return webhook_id(event.data.decision_id, event.data.version)


def _changes(samples: Samples, before: Samples) -> Callable[..., float]:
    """How much a sample of this authority grew since ``before``."""

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset({"authority": AUTHORITY, **labels}.items()))
        return samples.get(key, 0.0) - before.get(key, 0.0)

    return delta


def _before(before: Samples, name: str, **labels: str) -> float:
    return before.get((name, frozenset(labels.items())), 0.0)


def _delta(
    samples: Samples,
    before: Samples,
    outcome: str,
) -> float:
    labels = {"authority": AUTHORITY, "outcome": outcome}
    return value(samples, "rps_webhook_deliveries_total", **labels) - _before(
        before, "rps_webhook_deliveries_total", **labels
    )
