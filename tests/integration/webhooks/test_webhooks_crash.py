"""The webhook process killed mid-run (SIGKILL) and started again: nothing is lost."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from starlette.responses import Response

from cli.spawn import environment
from consumers import webhooks
from consumers.webhooks.receiver import Receiver, free_port, serving
from rps.settings import Settings
from schemas import DeliveryApplied, decode
from tests.integration.webhooks.conftest import AUTHORITY, KafkaIO, register
from tests.unit.consumers.events import address, profile_updated

RESIDENTS = [f"0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4{n:02x}" for n in range(3)]
PER_RESIDENT = 20


async def test_killed_mid_run_the_webhook_process_loses_nothing(
    webhook_settings: Settings, kafka_io: KafkaIO, tmp_path: Path
) -> None:
    """`rps webhooks run` is killed after some deliveries were applied; run again, every
    delivery is applied (each once, by webhook-id, in order per resident) and acknowledged.
    Its log holds neither the signing secret nor any delivered value."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    expected: dict[str, list[str]] = {}
    for n, subject in enumerate(RESIDENTS):
        reference = f"LCC-CT-9{n:03d}"
        values = [
            profile_updated(v, address(f"Flat {v}"), subject=subject, reference=reference)
            for v in range(1, PER_RESIDENT + 1)
        ]
        await kafka_io.produce(topic, values, key=subject.encode())
        expected[subject] = [
            webhooks.webhook_id(f"dec-{reference}-address-{v}", v)
            for v in range(1, PER_RESIDENT + 1)
        ]

    async def slow(_webhook_id: str, _tries: int) -> Response | None:
        await asyncio.sleep(0.05)  # so the kill lands in the middle of the run
        return None

    port = free_port()
    secret = await register(webhook_settings, f"http://127.0.0.1:{port}/")
    receiver = Receiver(secret, slow)
    log = tmp_path / "webhooks.log"
    async with serving(receiver, port):
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cli",
                "webhooks",
                "run",
                AUTHORITY,
                env=environment(
                    webhook_settings,
                    RPS_CONSUMER_BATCH_SIZE="7",
                    RPS_WEBHOOK_BACKOFF_MAX_SECONDS="1",
                ),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        for _ in range(1200):
            if len(receiver.applied) >= 15 or process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert process.returncode is None, "the webhook process ended on its own"
        process.send_signal(signal.SIGKILL)
        await process.wait()
        before = len(receiver.applied)
        assert 15 <= before < len(RESIDENTS) * PER_RESIDENT

        stats = await webhooks.run(webhook_settings, AUTHORITY, stop_at_end=True)

    by_resident: dict[str, list[str]] = {}
    for webhook_id, event in receiver.applied.items():
        by_resident.setdefault(event["subject"], []).append(webhook_id)
    assert by_resident == expected
    assert stats.records < len(RESIDENTS) * PER_RESIDENT  # committed batches were not re-read
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    decisions = {a.data.decision_id for a in acks if isinstance(a, DeliveryApplied)}
    assert decisions == {e["data"]["decision_id"] for e in receiver.events()}
    logged = log.read_text()
    assert "acknowledged" in logged
    for secret_or_value in (secret, secret.removeprefix("whsec_"), "Flat 1", "Hamilton Square"):
        assert secret_or_value not in logged
