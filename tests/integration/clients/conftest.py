"""Fixtures for clients written elsewhere: built by the Makefile, run as their own processes,
driven against the real worker (the worker fixtures are re-exported from the streams tests)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Final

import pytest

from tests.integration.streams.conftest import publish_as, worker_settings, workers

__all__ = ["CLIENTS", "clients_built", "publish_as", "run", "worker_settings", "workers"]

REPO: Final = Path(__file__).resolve().parents[3]
CLIENTS: Final = REPO / "clients"
RUN_SECONDS: Final = 240  # a generous bound on one client run (a JVM start on a busy machine)


@pytest.fixture(scope="session")
def clients_built() -> None:
    """The clients, built by ``make clients-setup`` (a no-op when they are up to date)."""
    result = subprocess.run(
        ["make", "-s", "clients-setup"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"make clients-setup failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


async def run(*command: str) -> tuple[int, str, str]:
    """Run a client program; its exit code, standard output and standard error."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    async with asyncio.timeout(RUN_SECONDS):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
