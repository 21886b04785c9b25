"""What the residents' data keys cost the worker: one at a time, or a batch at once.

Against a fresh SQLite file and a fresh PostgreSQL database (the local server of
``rps infra up``), for ``--residents`` residents never seen before:

- *made one at a time*: ``get_or_create`` per resident, as the worker makes the key of
  a resident's first input ever (a transaction each);
- *read one at a time*: ``get_or_create`` again for the same residents (what each
  resident's first input in a process cost before keys were read ahead);
- *read ahead*: ``get_many`` for the same residents in batches of ``--batch``, as the
  worker reads a fetched batch's keys (:mod:`streams.runtime.read_ahead`);
- *made at once*: ``get_or_create_many`` for as many other new residents (loading
  residents known elsewhere, as the performance suite's preload does).

Each figure is the process's CPU time and the wall time per resident. Nothing is
asserted::

    .venv/bin/python -m tests.perf.bench_keys
    .venv/bin/python -m tests.perf.bench_keys --residents 5000 --batch 500
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

import infra
from rps.keystore import SqlKeyStore
from rps.logs import configure
from rps.settings import Settings
from tests.databases import scratch_database


async def _timed(work: Callable[[], Awaitable[object]], count: int) -> dict[str, float]:
    started, cpu = time.perf_counter(), time.process_time()
    await work()
    return {
        "cpu_us": round((time.process_time() - cpu) / count * 1e6, 1),
        "wall_us": round((time.perf_counter() - started) / count * 1e6, 1),
    }


async def _steps(store: SqlKeyStore, residents: int, batch: int) -> dict[str, dict[str, float]]:
    new = [str(uuid.uuid4()) for _ in range(residents)]
    others = [str(uuid.uuid4()) for _ in range(residents)]

    async def one_by_one() -> None:
        for resident in new:
            await store.get_or_create(resident)

    async def ahead() -> None:
        for start in range(0, residents, batch):
            await store.get_many(new[start : start + batch])

    async def at_once() -> None:
        await store.get_or_create_many(others)

    return {
        "made one at a time": await _timed(one_by_one, residents),
        "read one at a time": await _timed(one_by_one, residents),
        "read ahead": await _timed(ahead, residents),
        "made at once": await _timed(at_once, residents),
    }


async def measure(base: Settings, residents: int, batch: int, scratch: Path) -> dict[str, Any]:
    """Every step on SQLite and on PostgreSQL: CPU and wall µs per resident."""
    results: dict[str, Any] = {}
    async with scratch_database(infra.local_url(base), "perf") as postgresql:
        for kind, url in (
            ("sqlite", f"sqlite+aiosqlite:///{scratch / 'keys.db'}"),
            ("postgresql", postgresql),
        ):
            settings = base.model_copy(update={"database_url": SecretStr(url)})
            store = await SqlKeyStore.open(settings)
            try:
                results[kind] = await _steps(store, residents, batch)
            finally:
                await store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=200, help="residents a read ahead names")
    options = parser.parse_args()
    configure(level="warning")
    base = Settings()
    with tempfile.TemporaryDirectory(prefix="rps-keys-") as scratch:
        asyncio.run(infra.up(base))
        results = asyncio.run(measure(base, options.residents, options.batch, Path(scratch)))
    print(f"{options.residents:,} residents; µs per resident (CPU / wall)")
    for kind, steps in results.items():
        for step, figure in steps.items():
            print(f"  {kind:<11} {step:<20} {figure['cpu_us']:>8,.0f} {figure['wall_us']:>8,.0f}")


if __name__ == "__main__":
    main()
