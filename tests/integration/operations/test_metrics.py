"""Metrics and health of real ``rps worker`` and ``rps subscribe`` processes, scraped as
Prometheus and a supervisor would, against what the test sent."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from cli.spawn import environment, stop_worker
from rps.settings import Settings
from schemas.topics import Topics
from tests.integration.operations.probe import free_port, readiness, scrape, until, value
from tests.integration.streams.conftest import PublishAs, Workers, audit_until

RESIDENTS = 6
ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": "E08000012",
}


def start_subscriber(
    settings: Settings, authority: str, db: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "subscribe", authority, "--db", db],
            env=environment(settings, RPS_METRICS_PORT=str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def test_worker_and_subscriber_count_what_was_sent(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs, tmp_path: Path
) -> None:
    """The worker's decisions, deliveries and dead letters and the subscriber's applied and
    acknowledged deliveries, scraped from their /metrics, match what the test published;
    both answer /livez and turn /readyz true."""
    topics = Topics(worker_settings.topic_prefix)
    worker_port, subscriber_port = free_port(), free_port()
    workers.settings = worker_settings.model_copy(update={"metrics_port": worker_port})
    worker = workers()
    subscriber = start_subscriber(
        worker_settings,
        "E08000015",
        f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}",
        subscriber_port,
        tmp_path / "subscriber.log",
    )
    try:
        wirral = await publish_as("urn:gss:E08000015")
        await wirral.change_subscription(
            authority="E08000015", attribute="address", minimum_assurance="medium"
        )
        residents = [str(uuid.uuid4()) for _ in range(RESIDENTS)]
        resident_app = await publish_as("urn:org:resident-app")
        grants = set()
        for n, resident in enumerate(residents):
            grant = await resident_app.grant_consent(
                resident=resident,
                authority="E08000015",
                attributes=["address"],
                purpose="council_tax",
                local_reference=f"WIR-{n}",
            )
            grants.add(grant.event_id)
        await audit_until(
            worker_settings, lambda rs: grants <= {r.data.event_id for r in rs}, workers
        )
        liverpool = await publish_as("urn:gss:E08000012")
        for resident in residents:
            await liverpool.publish_attribute(
                resident=resident,
                attribute="address",
                value=ADDRESS,
                assurance="medium",
                method="council_tax_record",
                verified_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
            )
        producer = AIOKafkaProducer(**worker_settings.kafka_client_options())
        await producer.start()
        try:
            await producer.send_and_wait(topics.attributes, b"{not json", key=b"x")
        finally:
            await producer.stop()

        def worker_counted() -> bool:
            samples = scrape(worker_port)
            return (
                value(samples, "rps_worker_decisions_total", type="claim", outcome="accepted")
                == RESIDENTS
                and value(samples, "rps_worker_dead_letters_total", reason="invalid_event") == 1
            )

        assert await until(worker_counted, check=workers.check), scrape(worker_port)
        samples = scrape(worker_port)
        assert (
            value(
                samples,
                "rps_worker_decisions_total",
                type="consent_grant",
                outcome="consent_recorded",
            )
            == RESIDENTS
        )
        assert value(samples, "rps_worker_deliveries_total", kind="update") == RESIDENTS

        # The latency is observed when Kafka acknowledges the deliveries, after the decision
        # was counted: a leader moving in between (NotLeaderForPartition) delays it.
        def deliveries_settled() -> bool:
            count = value(scrape(worker_port), "rps_worker_publish_to_delivery_seconds_count")
            return count >= RESIDENTS

        assert await until(deliveries_settled, check=workers.check), scrape(worker_port)
        samples = scrape(worker_port)
        assert value(samples, "rps_worker_publish_to_delivery_seconds_count") == RESIDENTS
        assert value(samples, "rps_worker_batch_size_count") >= 1
        assert value(samples, "rps_worker_producer_errors_total", error="KafkaError") == 0
        assert value(samples, "process_resident_memory_bytes") > 0
        assert readiness(worker_port) == (200, [])

        def subscriber_counted() -> bool:
            samples = scrape(subscriber_port)
            return (
                value(
                    samples,
                    "rps_subscriber_acknowledged_total",
                    authority="E08000015",
                )
                == RESIDENTS
            )

        assert await until(subscriber_counted), scrape(subscriber_port)
        samples = scrape(subscriber_port)
        assert (
            value(
                samples, "rps_subscriber_deliveries_total", authority="E08000015", outcome="applied"
            )
            == RESIDENTS
        )
        assert readiness(subscriber_port) == (200, [])

        def caught_up(port: int) -> bool:
            lag = [v for (name, _), v in scrape(port).items() if name == "rps_consumer_lag_records"]
            return bool(lag) and all(v == 0 for v in lag)

        assert await until(lambda: caught_up(subscriber_port), wait=30)
        assert await until(lambda: caught_up(worker_port), wait=30)
    finally:
        stop_worker(subscriber)
        workers.stop(worker)


async def test_a_worker_is_ready_only_once_its_state_is_restored(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """A worker taking over a changelog answers /readyz 503 (restore unmet) from its start,
    and 200 only once it has restored and joined; /livez answers 200 throughout."""
    first = workers()
    resident_app = await publish_as("urn:org:resident-app")
    grants = set()
    for n in range(RESIDENTS):
        grant = await resident_app.grant_consent(
            resident=str(uuid.uuid4()),
            authority="E08000015",
            attributes=["address"],
            purpose="council_tax",
            local_reference=f"WIR-{n}",
        )
        grants.add(grant.event_id)
    await audit_until(worker_settings, lambda rs: grants <= {r.data.event_id for r in rs}, workers)
    workers.stop(first)
    port = free_port()
    workers.settings = worker_settings.model_copy(update={"metrics_port": port})
    workers()
    seen: list[tuple[int, list[str]]] = []

    def ready() -> bool:
        seen.append(readiness(port))
        return seen[-1][0] == 200

    assert await until(ready, check=workers.check), seen[-5:]
    answered = [(status, unmet) for status, unmet in seen if status]
    assert answered[0][0] == 503, answered[:3]
    assert "restored" in answered[0][1], answered[:3]
    samples = scrape(port)
    assert value(samples, "rps_worker_restore_remaining_records") == 0
