"""Scale-out: the headline scenario decided by one worker, then by two workers of one group.

Right after the headline and its costs runs, the headline's store, population and councils
run twice more, each time on fresh topics: once with one ``rps worker``, once with two of the
same group (same ``RPS_APP_ID`` and topic prefix, each its own ``RPS_WORKER_NAME``) sharing the
inbound partitions (``RPS_PARTITIONS``). Before the measured events are sent, the two-worker
run waits until the group is stable with both workers holding inbound partitions and each
partition's holder has decided a warm-up event of its own (``scenario.share_out``), so the
figure is the shared group, not a rebalance. Both runs send the same number of events of the
same mix. Each run gives its rate, the workers' CPU per event summed over both, each worker's
share of that CPU and each group member's partitions and the inputs that arrived on them;
the figure is the ratio of two workers to one.

The machine the suite runs on may have fewer cores than two workers and the broker need:
then the second worker can only share the same cores, and the ratio says so.

By hand, against the broker of ``rps infra up``::

    .venv/bin/python -m tests.perf.scaleout --residents 2000 --events 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rps.logs import configure
from rps.settings import Settings
from schemas.topics import Topics
from streams.runtime.names import faust_id
from tests.perf import broker, scenario, workload

WORKERS = (1, 2)


async def run(
    base: Settings,
    shared: Settings,
    plan: scenario.Scenario,
    events: int,
    workers: int,
    scratch: Path,
    keep_topics: bool = False,
) -> dict[str, Any]:
    """``workers`` workers of one group on fresh topics decide ``events`` events of the mix."""
    tag = uuid.uuid4().hex[:8]
    began = time.perf_counter()
    running = await scenario.start(base, shared, plan, scratch, tag, workers)
    started = round(time.perf_counter() - began, 1)
    settings = running.settings
    topics = Topics(settings.topic_prefix)
    group, inbound = faust_id(settings), [topics.attributes, topics.consents]
    try:
        held = await broker.assignment(settings, group, topics.worker_inputs) or {}
        records = workload.mix(events, plan.residents, running.councils, topics)
        ends, cpu = await broker.ends(settings, inbound), running.cpu_each()
        live = await scenario.measure(running, records)
        used = [after - before for after, before in zip(running.cpu_each(), cpu, strict=True)]
        arrived = {
            tp: end - ends.get(tp, 0) for tp, end in (await broker.ends(settings, inbound)).items()
        }
        unchanged = await broker.assignment(settings, group, topics.worker_inputs) == held
    finally:
        scenario.stop(running)
        if not keep_topics:
            await broker.delete_prefixed(base, settings.topic_prefix)
    members = [
        {
            "partitions": sorted({tp.partition for tp in held[member]}),
            "inputs": sum(arrived.get(tp, 0) for tp in held[member]),
        }
        for member in sorted(held, key=lambda m: min(tp.partition for tp in held[m]))
    ]
    return {
        "workers": workers,
        "events": live["events"],
        "outputs": live["outputs"],
        "seconds": live["seconds"],
        "events_per_second": live["events_per_second"],
        "worker_cpu_us_per_event": live["worker_cpu_us_per_event"],
        "cpu_share": [round(u / max(sum(used), 1e-9), 3) for u in used],
        "members": members,
        "group_unchanged": unchanged,
        "start_seconds": started,
        "worker_restarts": running.restarts,
    }


async def measure(
    base: Settings,
    shared: Settings,
    head: dict[str, Any],
    options: argparse.Namespace,
    scratch: Path,
) -> dict[str, Any]:
    """The headline's scenario with one worker, then two; the ratios of two to one."""
    plan = scenario.Scenario(head["store"], head["residents"], head["authorities"])
    return await compare(base, shared, plan, head["events"], scratch, options.keep_topics)


async def compare(
    base: Settings,
    shared: Settings,
    plan: scenario.Scenario,
    events: int,
    scratch: Path,
    keep_topics: bool = False,
) -> dict[str, Any]:
    """One run per number of workers in ``WORKERS``, each printed as it ends."""
    runs = []
    for workers in WORKERS:
        print(f"-- {plan.name}, {workers} worker(s) of one group", flush=True)
        runs.append(await run(base, shared, plan, events, workers, scratch, keep_topics))
        print(f"   {line(runs[-1])}", flush=True)
    one, two = runs[0], runs[-1]
    return {
        "store": plan.store,
        "residents": plan.residents,
        "authorities": plan.authorities,
        "events": events,
        "partitions": base.partitions,
        "cores": os.cpu_count(),
        "runs": runs,
        "rate_ratio": round(two["events_per_second"] / one["events_per_second"], 2),
        "cpu_per_event_ratio": round(
            two["worker_cpu_us_per_event"] / one["worker_cpu_us_per_event"], 2
        ),
    }


def line(run: dict[str, Any]) -> str:
    """One run: its rate, CPU per event, each worker process's share of the CPU and each group
    member's partitions with the inputs on them (processes and members are not matched)."""
    shares = " / ".join(f"{s:.0%}" for s in run["cpu_share"])
    held = " / ".join(
        f"{','.join(map(str, m['partitions']))}: {m['inputs']:,}" for m in run["members"]
    )
    return (
        f"{run['workers']} worker{'s' if run['workers'] > 1 else ''}: "
        f"{run['events_per_second']:>8,.0f}/s, {run['worker_cpu_us_per_event']:>6,.0f} us CPU "
        f"per event (all workers); CPU by process {shares}; inputs by the partitions each "
        f"member holds {held}"
        + ("" if run["group_unchanged"] else "; the group rebalanced while measured")
    )


def lines(figures: dict[str, Any]) -> list[str]:
    """The table's section: each run, and the ratios of two workers to one."""
    store = figures["store"].split(":")[0]
    return [
        f"scale-out: {store}, {figures['residents']:,} residents, {figures['authorities']} LAs, "
        f"{figures['events']:,} events each, {figures['partitions']} inbound partitions; "
        f"{figures['cores']} cores, which the workers share with the broker, the sender and "
        "other work: a worker at full rate takes most of a core, so here the cores bound the "
        "ratio, not the group",
        *(f"  {line(run)}" for run in figures["runs"]),
        f"  two workers / one: rate {figures['rate_ratio']:.2f}x, "
        f"CPU per event {figures['cpu_per_event_ratio']:.2f}x",
    ]


def main(argv: list[str] | None = None) -> None:
    """The scale-out figure alone, against the broker of ``rps infra up``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="memory://")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--authorities", type=int, default=5)
    parser.add_argument("--events", type=int, default=10_000)
    options = parser.parse_args(argv)
    configure(level="warning")
    plan = scenario.Scenario(options.store, options.residents, options.authorities)
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="rps-scaleout-") as scratch:
        figures = asyncio.run(compare(settings, settings, plan, options.events, Path(scratch)))
    print("\n".join(lines(figures)))


if __name__ == "__main__":
    main(sys.argv[1:])
