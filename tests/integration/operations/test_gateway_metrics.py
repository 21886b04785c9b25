"""A real ``rps gateway`` process: its metrics count requests by route and status and events
by outcome, and its /readyz turns true once Kafka answers."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from rps.settings import Settings
from tests.integration.operations.probe import free_port, readiness, scrape, until, value
from tests.unit.producers.support import SOURCE, line, simple

RPS = str(Path(sys.executable).with_name("rps"))


async def test_the_gateway_counts_requests_and_events(settings: Settings) -> None:
    """Two events accepted and one refused (invalid) are counted by route, status and outcome;
    /readyz answers 200 and /livez 200 on the metrics port."""
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_DATABASE_URL": settings.database_url.get_secret_value(),
        "RPS_METRICS_PORT": str(metrics_port),
    }
    added = await asyncio.create_subprocess_exec(
        RPS, "publishers", "add", SOURCE, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await added.communicate()
    key = next(row.split()[-1] for row in out.decode().splitlines() if row.startswith("key:"))
    process = await asyncio.create_subprocess_exec(
        RPS,
        "gateway",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert await until(lambda: readiness(metrics_port) == (200, []), wait=120)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for n in range(2):
                sent = await client.post(
                    "/v1/events", content=line(simple(id=f"m-{n}")), headers=headers
                )
                assert sent.status_code == 202
            refused = await client.post("/v1/events", content=b'{"type": 1}', headers=headers)
            assert refused.status_code == 422
        samples = scrape(metrics_port)
        assert value(samples, "rps_gateway_events_total", outcome="accepted") == 2
        assert (
            value(
                samples,
                "rps_http_requests_total",
                service="gateway",
                route="/v1/events",
                status="202",
            )
            == 2
        )
        refusals = [v for (name, _), v in samples.items() if name == "rps_gateway_refusals_total"]
        assert sum(refusals) == 1
        assert (await asyncio.to_thread(lambda: readiness(metrics_port)))[0] == 200
    finally:
        process.terminate()
        await process.wait()
