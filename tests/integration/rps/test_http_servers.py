"""The real `rps gateway` and `rps portal` processes: no server banner, slow clients bounded.

Each runs as an operator runs it, with small limits set through ``RPS_HTTP_*``,
and is spoken to over raw sockets where a well-behaved client library would
hide what a slow or greedy client does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from producers.credentials import add_publisher
from rps.settings import Settings
from tests.unit.producers.support import SOURCE

RPS = str(Path(sys.executable).with_name("rps"))
LIMITS = {
    "RPS_HTTP_KEEP_ALIVE_SECONDS": "1",
    "RPS_HTTP_MAX_HEADER_BYTES": "2048",
    "RPS_HTTP_BODY_TIMEOUT_SECONDS": "1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serve(settings: Settings, *command: str) -> tuple[asyncio.subprocess.Process, int]:
    """Start ``rps <command> --port P`` with :data:`LIMITS`; its process once it answers."""
    port = free_port()
    env = {
        **os.environ,
        **LIMITS,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_DATABASE_URL": settings.database_url.get_secret_value(),
    }
    process = await asyncio.create_subprocess_exec(
        RPS,
        *command,
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    for _ in range(900):
        if process.returncode is not None:
            output, _ = await process.communicate()
            pytest.fail(f"rps {command[0]} exited {process.returncode}:\n{output.decode()}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return process, port
    pytest.fail(f"rps {command[0]} never listened")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[tuple[int, str]]:
    """A running `rps gateway` with small limits, and a valid API key for it."""
    issued = await add_publisher(settings, SOURCE)
    process, port = await serve(settings, "gateway")
    try:
        yield port, issued.key
    finally:
        await stop(process)


async def raw(port: int, request: bytes, *, then_wait: float = 0.0) -> bytes:
    """Send ``request`` bytes as they are; everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        if then_wait:
            await asyncio.sleep(then_wait)
        return await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()


async def test_the_gateway_sends_no_server_banner(gateway: tuple[int, str]) -> None:
    """Neither an answer nor a refusal names the server software."""
    port, _key = gateway
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        health = await client.get("/health")
        refused = await client.post("/v1/events", content=b"{}")
    assert (health.status_code, refused.status_code) == (200, 401)
    for response in (health, refused):
        assert "server" not in response.headers


async def test_the_gateway_closes_an_idle_connection_after_the_keep_alive(
    gateway: tuple[int, str],
) -> None:
    """After one answer, a connection that sends nothing more is closed by the server."""
    port, _key = gateway
    request = b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        assert head.startswith(b"HTTP/1.1 200")
        length = next(
            int(row.split(b":", 1)[1])
            for row in head.split(b"\r\n")
            if row.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        rest = await asyncio.wait_for(reader.read(), timeout=30)  # b"" once the server closes
    finally:
        writer.close()
    assert rest == b""


async def test_the_gateway_refuses_oversized_headers(gateway: tuple[int, str]) -> None:
    """Headers growing past RPS_HTTP_MAX_HEADER_BYTES are not buffered: 400, connection closed."""
    port, _key = gateway
    padding = b"".join(b"X-Padding-%d: %s\r\n" % (n, b"a" * 200) for n in range(20))
    answer = await raw(port, b"GET /health HTTP/1.1\r\nHost: gateway\r\n" + padding)
    assert answer.startswith(b"HTTP/1.1 400")


async def test_the_gateway_answers_a_body_that_never_arrives_with_408(
    gateway: tuple[int, str],
) -> None:
    """A body announced but sent too slowly is cut off with a 408 problem, never waited for."""
    port, key = gateway
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: 400\r\n\r\n"
    ).encode()
    answer = await raw(port, head + b'{"resident": ')
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"/problems/body-timeout" in answer


async def test_the_portal_sends_no_server_banner(settings: Settings, tmp_path: Path) -> None:
    """The resident portal's pages carry no `server` header either."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'readmodel.db'}"
    process, port = await serve(settings, "portal", "--db", url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            page = await client.get("/")
    finally:
        await stop(process)
    assert page.status_code < 500
    assert "server" not in page.headers
