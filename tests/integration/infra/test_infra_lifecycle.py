"""`rps infra up|status|down` on a second, private set of services: idempotent, self-contained."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import kafka, postgres
from rps.settings import Settings

_RPS = str(Path(sys.executable).with_name("rps"))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def private(tmp_path: Path, local_services: Settings) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Settings and environment for services of our own, torn down (data too) afterwards."""
    kafka_port, controller_port, postgres_port = _free_ports(3)
    values = {
        "RPS_STATE_DIR": str(tmp_path / "state"),
        "RPS_KAFKA_PORT": str(kafka_port),
        "RPS_KAFKA_CONTROLLER_PORT": str(controller_port),
        "RPS_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "RPS_POSTGRES_PORT": str(postgres_port),
        "RPS_KAFKA_HEAP": "512m",
        "RPS_MANAGE_POSTGRES": str(postgres.is_managed(local_services)).lower(),
        "RPS_DATABASE_URL": "sqlite+aiosqlite:///unused.db",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("RPS_")}
    env.update(values, RPS_CACHE_DIR=str(local_services.cache_dir))
    settings = Settings(
        state_dir=tmp_path / "state",
        kafka_port=kafka_port,
        kafka_controller_port=controller_port,
        bootstrap_servers=f"127.0.0.1:{kafka_port}",
        postgres_port=postgres_port,
    )
    yield settings, env
    kafka.stop(settings)
    postgres.pg_stop(settings)
    cluster = postgres.PostgresPaths.of(settings).cluster
    if cluster.is_relative_to("/var/lib/postgresql/rps"):
        shutil.rmtree(cluster, ignore_errors=True)


async def _rps(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        _RPS, *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def _pids(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(kafka|postgres)\s.*?pid (\d+)", output, flags=re.MULTILINE))


async def test_up_twice_status_down_touch_only_their_own_services(
    private: tuple[Settings, dict[str, str]], local_services: Settings
) -> None:
    """`up` starts and reports both; a second `up` reuses them; `down` stops them and no others."""
    settings, env = private
    manages_postgres = postgres.is_managed(local_services)

    code, first = await _rps(env, "infra", "up")
    assert code == 0, first
    assert f"kafka     running   127.0.0.1:{settings.kafka_port}" in first
    assert first.count("started now") == (2 if manages_postgres else 1)
    if manages_postgres:
        assert f"rps:***@127.0.0.1:{settings.postgres_port}/rps" in first
        assert postgres.PostgresPaths.of(settings).password.read_text().strip() not in first

    code, shown = await _rps(env, "infra", "status")
    assert code == 0, shown
    assert re.search(r"^kafka\s+running", shown, flags=re.MULTILINE)

    code, second = await _rps(env, "infra", "up")
    assert code == 0, second
    assert "started now" not in second
    assert _pids(second) == _pids(first)

    code, stopped = await _rps(env, "infra", "down")
    assert code == 0, stopped
    assert f"kafka     stopped   (pid {_pids(first)['kafka']})" in stopped

    code, shown = await _rps(env, "infra", "status")
    assert code == 3, shown
    assert re.search(r"^kafka\s+stopped", shown, flags=re.MULTILINE)

    code, again = await _rps(env, "infra", "down")
    assert code == 0, again
    assert "kafka     was not running" in again
    assert await kafka.probe(local_services.bootstrap_servers)
    if manages_postgres:
        assert await postgres.probe(postgres.local_url(local_services))
