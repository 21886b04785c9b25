"""Real `rps` processes with RPS_ENVIRONMENT=production: refused cleanly, or started when safe."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from rps.settings import Settings

RPS = str(Path(sys.executable).with_name("rps"))
SECRETS = {
    "RPS_PSEUDONYM_KEY": "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c-pseudonym",
    "RPS_AUDIT_KEY": "0e2d4c6b8a9f1e3d5c7b9a0f2e4d6c8b-audit",
    "RPS_PORTAL_SESSION_SECRET": "7a5c3e1f9d7b5a3c1e9f7d5b3a1c9e7f-session",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def production_env(settings: Settings, **changes: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RPS_")}
    env.update(
        RPS_ENVIRONMENT="production",
        RPS_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        RPS_TOPIC_PREFIX=settings.topic_prefix,
        RPS_DATABASE_URL=settings.database_url.get_secret_value(),
    )
    env.update(changes)
    return env


@pytest.mark.parametrize("command", [["worker"], ["gateway"], ["portal"], ["readmodel"]])
async def test_a_process_on_development_secrets_exits_2_without_a_traceback(
    settings: Settings, command: list[str]
) -> None:
    """Production with the development defaults: exit 2 naming each setting, nothing started."""
    env = production_env(settings, RPS_BOOTSTRAP_SERVERS="kafka-1.council.example:9092")
    process = await asyncio.create_subprocess_exec(
        RPS, *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    text = err.decode()
    assert process.returncode == 2, text
    assert "Traceback" not in text
    assert out == b""
    assert "RPS_SECURITY_PROTOCOL:" in text
    expected = {
        "worker": {"RPS_PSEUDONYM_KEY", "RPS_AUDIT_KEY"},
        "portal": {"RPS_PORTAL_SESSION_SECRET"},
    }.get(command[0], set())
    for name in expected:
        assert f"{name}:" in text
    assert "local-development" not in text


async def test_the_gateway_with_production_settings_and_good_secrets_starts_and_answers(
    settings: Settings,
) -> None:
    """Strong secrets and Kafka on loopback: `rps gateway` starts in production and is healthy."""
    port = free_port()
    env = production_env(settings, **SECRETS)
    process = await asyncio.create_subprocess_exec(
        RPS,
        "gateway",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(600):
                if process.returncode is not None:
                    output, _ = await process.communicate()
                    pytest.fail(f"rps gateway exited {process.returncode}:\n{output.decode()}")
                try:
                    health = await client.get("/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("rps gateway never answered /health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "kafka": "reachable"}
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, output.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
