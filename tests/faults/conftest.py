"""Fixtures and helpers of the fault suite.

- ``hostile_count``: how many hostile inputs a run sends. Each hostile test runs
  twice: a short seeded run (1,000 inputs) that ``make test`` includes, and a
  full run marked ``slow`` (``RPS_HOSTILE_COUNT``, 10,000 by default) that only
  ``make faults`` runs.
- ``report``: prints a test's figures (run with ``-s`` to see them) and keeps
  them in ``artifacts/faults/<test>.json``.
- ``leaks``: which planted values occur in which files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.streams.conftest import publish_as, worker_settings, workers

__all__ = ["publish_as", "worker_settings", "workers"]

SHORT_COUNT = 1_000
SHORT_SEED = 11
FULL_SEED = 2026
ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "faults"


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
