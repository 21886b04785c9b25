"""The metrics and health server every long-running process runs, and the HTTP request counter."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from rps import metrics
from rps.http_metrics import RequestMetrics


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_readiness_waits_for_every_condition_and_liveness_for_the_beat() -> None:
    """/readyz is 503 naming what is unmet until all is met; /livez fails once the beat is
    stale; /metrics serves the process collector."""
    health = metrics.Health({"checked": lambda: True}, stale_seconds=0.5)
    health.require("joined", "restored")
    server = metrics.start("127.0.0.1", 0, health, "test")
    try:
        status, body = get(server.port, "/readyz")
        assert status == 503
        assert json.loads(body)["unmet"] == ["joined", "restored"]
        health.met("joined")
        health.met("restored")
        assert get(server.port, "/readyz")[0] == 200
        health.beat()
        assert get(server.port, "/livez")[0] == 200
        health._beat -= 1.0  # as if the loop had not beaten for a second
        assert get(server.port, "/livez")[0] == 503
        status, text = get(server.port, "/metrics")
        assert status == 200
        assert b"process_resident_memory_bytes" in text
        assert get(server.port, "/other")[0] == 404
    finally:
        server.stop()


def test_a_check_that_raises_is_not_met() -> None:
    """A readiness check that cannot tell counts as unmet, never as ready."""

    def broken() -> bool:
        raise RuntimeError("cannot tell")

    assert metrics.Health({"broken": broken}).unmet() == ["broken"]


def test_no_server_without_a_port() -> None:
    """Port 0 in the settings (the default) starts nothing."""
    from rps.settings import Settings

    assert metrics.serve(Settings(metrics_port=0), metrics.Health(), "test") is None


async def test_requests_are_counted_by_route_template_never_by_path() -> None:
    """A request to /things/{thing} is counted under the template, so no value in a path
    becomes a label."""
    app = FastAPI()

    @app.get("/things/{thing}")
    async def thing(thing: str) -> dict[str, str]:
        return {"thing": "x"}

    app.add_middleware(RequestMetrics, service="unit")

    def count(route: str, status: str) -> float:
        labels = {"service": "unit", "route": route, "status": status}
        return REGISTRY.get_sample_value("rps_http_requests_total", labels) or 0.0

    before = count("/things/{thing}", "200")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/things/someone@example.org")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404
    assert count("/things/{thing}", "200") == before + 1
    assert count("unmatched", "404") >= 1
    samples = [s for m in REGISTRY.collect() for s in m.samples if "someone" in str(s.labels)]
    assert samples == []
