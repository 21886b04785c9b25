"""Fixtures and helpers of the fault suite.

- ``hostile_run``: the (seed, count) of a run of hostile inputs. Each hostile test runs
  twice: a short seeded run (1,000 inputs) that ``make test`` includes, and a
  full run marked ``slow`` (``RPS_HOSTILE_COUNT``, 10,000 by default) that only
  ``make faults`` runs.
- ``report``: prints a test's figures (run with ``-s`` to see them) and keeps
  them in ``artifacts/faults/<test>.json``.
- ``gateway``: a real ``rps gateway`` process with its output in a file.
- ``leaks``: which planted values occur in which files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.spawn import environment
from producers.credentials import open_store
from rps.settings import Settings
from tests.faults.hostile_http import MAX_BATCH, MAX_BODY, SOURCE, Request
from tests.integration.producers.test_gateway_process import free_port
from tests.integration.streams.conftest import publish_as, worker_settings, workers

__all__ = ["publish_as", "worker_settings", "workers"]

SHORT_COUNT = 1_000
SHORT_SEED = 11
FULL_SEED = 2026
ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "faults"
RPS = str(Path(sys.executable).with_name("rps"))


def full_count() -> int:
    """The size of the long run: ``RPS_HOSTILE_COUNT`` (10,000 when unset)."""
    return int(os.environ.get("RPS_HOSTILE_COUNT", "10000"))


@pytest.fixture(
    params=[
        pytest.param((SHORT_SEED, SHORT_COUNT), id="short"),
        pytest.param((FULL_SEED, None), id="full", marks=pytest.mark.slow),
    ]
)
def hostile_run(request: pytest.FixtureRequest) -> tuple[int, int]:
    """(seed, count) of this run: the short seeded subset, or the full run."""
    seed, count = request.param
    return seed, count if count is not None else full_count()


Report = Callable[[dict[str, Any]], None]


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    """``report({...})`` prints the figures and writes them to ``artifacts/faults/``."""

    def write(figures: dict[str, Any]) -> None:
        name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
        print(f"\n{request.node.name}: " + json.dumps(figures, sort_keys=True))

    return write


def leaks(files: Iterable[Path], needles: Iterable[str]) -> dict[str, list[str]]:
    """For each needle found, the files it occurs in (bytes, case-sensitive)."""
    wanted = [needle.encode() for needle in needles]
    found: dict[str, list[str]] = {}
    for path in files:
        if not path.is_file():
            continue
        content = path.read_bytes()
        for needle in wanted:
            if needle in content:
                found.setdefault(needle.decode(), []).append(str(path))
    return found


def rss_kib(pid: int) -> int:
    """A live process's resident set size in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"process {pid} has no VmRSS")


@dataclass(frozen=True, slots=True)
class Gateway:
    """A running ``rps gateway``: its address, a publisher key, its process and output file."""

    url: str
    key: str
    process: asyncio.subprocess.Process
    output: Path


async def start_subscriber(
    settings: Settings, authority: str, db_url: str, output: Path, *options: str
) -> asyncio.subprocess.Process:
    """Start ``rps subscribe AUTHORITY --db DB_URL [options]`` for ``settings``, its output in
    ``output``; the caller waits for it or stops it."""
    with output.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            RPS,
            "subscribe",
            authority,
            "--db",
            db_url,
            *options,
            env=environment(settings),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


@contextlib.asynccontextmanager
async def started_gateway(settings: Settings, output: Path) -> AsyncIterator[Gateway]:
    """A real ``rps gateway`` for ``settings`` on a free port, answering /health, with a key for
    :data:`SOURCE` and its output in ``output``; stopped on leaving."""
    async with open_store(settings) as store:
        key = (await store.add(SOURCE)).key
    port = free_port()
    env = {
        **os.environ,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_DATABASE_URL": settings.database_url.get_secret_value(),
        "RPS_PRODUCER_SEND_TIMEOUT_SECONDS": str(settings.producer_send_timeout_seconds),
        "RPS_GATEWAY_RETRY_AFTER_SECONDS": str(settings.gateway_retry_after_seconds),
        "RPS_GATEWAY_MAX_BODY_BYTES": str(MAX_BODY),
        "RPS_GATEWAY_MAX_BATCH_EVENTS": str(MAX_BATCH),
    }
    with output.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            RPS,
            "gateway",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for _ in range(600):
                if process.returncode is not None:
                    text = await asyncio.to_thread(output.read_text)
                    pytest.fail(f"rps gateway exited {process.returncode}:\n{text}")
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail("rps gateway never answered /health")
        yield Gateway(url, key, process, output)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.fixture
async def gateway(settings: Settings, tmp_path: Path) -> AsyncIterator[Gateway]:
    """A real ``rps gateway`` on the test's broker (see :func:`started_gateway`)."""
    async with started_gateway(settings, tmp_path / "gateway.log") as running:
        yield running


async def send(client: httpx.AsyncClient, key: str, request: Request) -> httpx.Response:
    headers = dict(request.headers)
    if request.auth is None:
        headers["Authorization"] = f"Bearer {key}"
    elif request.auth:
        headers["Authorization"] = request.auth
    return await client.request(request.method, request.path, content=request.body, headers=headers)
