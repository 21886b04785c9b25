"""Rounds of the benchmark's mix through one running worker: for A/B runs of a worker change.

One scenario of the suite (a store, residents, councils) is started as the suite starts it,
then ``--rounds`` batches of ``--events`` are sent one after the other to the same worker,
and each round prints the worker's events per second, CPU time per event and RSS, and what
the round left in the worker's table (``tests.perf.footprint``): changelog bytes written per
event, the average size of the profiles it wrote, and the outbox entries not yet deleted.
Run it on the code before and after a change, alternately, and compare the CPU figures (the
steadier ones on a shared machine)::

    .venv/bin/python -m tests.perf.rounds                       # memory, 10,000 residents, 5 LAs
    .venv/bin/python -m tests.perf.rounds --store rocksdb:// --residents 1000000

against the local Kafka and PostgreSQL (``rps infra up``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

from rps.logs import configure
from rps.settings import Settings
from schemas.topics import Topics
from tests.perf import broker, footprint, scenario, workload


async def run(
    store: str,
    residents: int,
    authorities: int,
    events: int,
    rounds: int,
    base: Settings | None = None,
) -> list[dict[str, Any]]:
    """Start the scenario's worker, print a line per round, and return the rounds' figures."""
    base = base or Settings()
    plan = scenario.Scenario(store, residents, authorities)
    tag = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="rps-rounds-") as scratch:
        running = await scenario.start(base, base, plan, Path(scratch), tag)
        topics = Topics(running.settings.topic_prefix)
        figures = []
        try:
            print(f"{plan.name}: {rounds} rounds of {events:,} events", flush=True)
            for n in range(1, rounds + 1):
                records = workload.mix(events, residents, running.councils, topics, seed=n)
                before = await footprint.ends(running.settings)
                live = await scenario.measure(running, records)
                rss, _ = running.memory_mib()
                table = await footprint.measure(running.settings, before)
                figures.append({**live, "rss_mib": rss, "footprint": table})
                print(
                    f"round {n}: {live['events_per_second']:>8,.0f} events/s "
                    f"{live['worker_cpu_us_per_event']:>7,.0f} us CPU per event "
                    f"{live['outputs'] / live['events']:>5.1f} outputs per event "
                    f"{rss:>6,.0f} MiB; changelog {table.per_event(len(records)):>6,.0f} B "
                    f"per event, profile {table.average_profile():>6,.0f} B "
                    f"({table.profiles:,} written), outbox entries left {table.entries_left:,} "
                    f"({table.entry_bytes_left:,} B)",
                    flush=True,
                )
        finally:
            scenario.stop(running)
            await broker.delete_prefixed(base, f"perf{tag}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="memory://", choices=["memory://", "rocksdb://"])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--authorities", type=int, default=5)
    parser.add_argument("--events", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure(level="warning")
    asyncio.run(run(args.store, args.residents, args.authorities, args.events, args.rounds))


if __name__ == "__main__":
    main()
