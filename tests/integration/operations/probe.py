"""Read a process's metrics and health endpoints the way Prometheus and a supervisor do."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str) -> tuple[int, bytes]:
    """Status and body of ``GET http://127.0.0.1:port/path``; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def scrape(port: int) -> Samples:
    """Every sample of the process's /metrics, by name and labels."""
    status, body = get(port, "/metrics")
    if status != 200:
        return {}
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def readiness(port: int) -> tuple[int, list[str]]:
    """The /readyz status and the conditions it names as unmet."""
    status, body = get(port, "/readyz")
    return status, (json.loads(body).get("unmet", []) if status else ["unreachable"])


async def until(
    probe: Callable[[], bool], wait: float = 120, check: Callable[[], None] | None = None
) -> bool:
    """Poll ``probe`` (in a thread) until it holds or ``wait`` seconds pass."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if check is not None:
            check()
        if await asyncio.to_thread(probe):
            return True
        await asyncio.sleep(0.5)
    return False
