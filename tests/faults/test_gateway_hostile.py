"""Hostile requests against a real ``rps gateway`` process.

Every one is answered 4xx with an RFC 9457 problem document that repeats none
of the values sent, never 5xx; the process never exits, its memory stays
bounded, its output holds no planted value, and it still accepts a valid event
afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import orjson
import pytest

from rps.settings import Settings
from schemas.topics import Topics
from tests.faults.conftest import Gateway, Report, leaks, rss_kib, send
from tests.faults.hostile import NINO
from tests.faults.hostile_http import HttpScenario, Request
from tests.integration.streams.conftest import records_of

pytestmark = pytest.mark.integration

RSS_BOUND_KIB = 1024 * 1024
CONCURRENCY = 8


async def test_hostile_requests_get_4xx_problems_and_the_gateway_goes_on(
    settings: Settings,
    gateway: Gateway,
    hostile_run: tuple[int, int],
    report: Report,
) -> None:
    """Every hostile request gets a 4xx problem document naming no value sent; no 5xx, no exit,
    bounded memory, no planted value in the output; a valid event is accepted afterwards."""
    seed, count = hostile_run
    scenario = HttpScenario(seed, count, f"canary-{uuid.uuid4().hex}", [str(uuid.uuid4())])
    requests = list(scenario.requests())
    pid = gateway.process.pid
    rss_before = rss_kib(pid)
    statuses: Counter[int] = Counter()
    problem_types: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def drain(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            request = queue.get_nowait()
            response = await send(client, gateway.key, request)
            statuses[response.status_code] += 1
            media = response.headers.get("content-type", "")
            problem = response.json() if media.startswith("application/problem+json") else {}
            problem_types[str(problem.get("type"))] += 1
            if (
                not 400 <= response.status_code < 500
                or problem.get("status") != response.status_code
                or not {"type", "title", "detail"} <= problem.keys()
                or scenario.canary.encode() in response.content
                or NINO.encode() in response.content
            ):
                failures.append(f"{request.kind}: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        await asyncio.gather(*(drain(client) for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - started
        after = scenario.event()
        after["data"] = {**after["data"], "value": "after@example.org"}
        valid = Request("valid", "POST", "/v1/events", orjson.dumps(after), {})
        accepted = await send(client, gateway.key, valid)
    assert gateway.process.returncode is None, "the gateway process exited"
    rss_after = rss_kib(pid)
    on_topic = await records_of(settings, Topics(settings.topic_prefix).attributes)
    leaked = await asyncio.to_thread(leaks, [gateway.output], [scenario.canary, NINO])
    report(
        {
            "seed": seed,
            "hostile_requests": count,
            "by_kind": dict(scenario.kinds),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "problem_types": dict(problem_types),
            "not_4xx_problem": len(failures),
            "requests_per_second": round(count / elapsed, 1),
            "gateway_rss_kib_before": rss_before,
            "gateway_rss_kib_after": rss_after,
            "wall_seconds": round(elapsed, 1),
        }
    )
    assert not failures, f"{len(failures)} requests not answered 4xx + problem: {failures[:5]}"
    assert sum(statuses.values()) == count
    assert accepted.status_code == 202, accepted.text
    assert [r.value for r in on_topic if after["id"].encode() in (r.value or b"")], (
        "the valid event reached the topic"
    )
    assert len(on_topic) == 1, "no hostile request reached Kafka"
    assert rss_after < RSS_BOUND_KIB, f"gateway RSS grew to {rss_after} KiB"
    assert not leaked, f"planted values reached the gateway's output: {leaked}"
