"""The performance suite: every figure of issue 10 in one run, as a table and as JSON.

Against the local Kafka and PostgreSQL (``rps infra up``)::

    .venv/bin/python -m tests.perf.suite                       # default size (make perf)
    .venv/bin/python -m tests.perf.suite --residents 10000,1000000 --events 20000
    .venv/bin/python -m tests.perf.suite --only subscribers       # the subscriber figure alone

Scenarios (each a fresh worker on fresh topics, and the passthrough on the
same events): the in-memory store at the smallest population (the headline,
with latency, the profile, replay and the subscribers), RocksDB at every
population, RocksDB with every further number of councils, and the in-memory
store at the largest population (for its memory). Right after the headline, the
same scenario runs in rounds as configured, with verification off and with the stored
profiles not sealed, for what each feature costs per event (``tests.perf.costs``), then twice
again, with one
worker and with two workers of one group sharing the partitions (``tests.perf.scaleout``).
Results go to
``--out`` (default ``artifacts/perf/<date>/``): ``results.json``,
``table.txt``, ``profile.txt`` (py-spy's collapsed stacks of the worker under
load) and the processes' logs. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import infra
from infra import kafka, postgres
from rps.logs import configure
from rps.settings import Settings
from schemas.topics import Topics
from tests.perf import broker, costs, extras, scaleout, scenario, workload
from tests.perf.report import subscribers_table, summary, table


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The suite's options."""
    today = dt.date.today().isoformat()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    number_list = lambda text: [int(part) for part in text.split(",")]  # noqa: E731
    parser.add_argument("--residents", type=number_list, default=[10_000, 100_000])
    parser.add_argument("--authorities", type=number_list, default=[5, 50])
    parser.add_argument("--events", type=int, default=10_000, help="measured events per run")
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument(
        "--latency-runs", type=int, default=3, help="latency runs at each share of peak"
    )
    parser.add_argument(
        "--cost-rounds",
        type=int,
        default=3,
        help="rounds of the headline as configured, with verification off and with profile "
        "sealing off, whose medians give each feature's cost",
    )
    parser.add_argument("--publish-events", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=2_000, help="gateway: one a request")
    parser.add_argument(
        "--broker",
        choices=["private", "shared"],
        default="private",
        help="private: a broker of the suite's own, started and stopped by it (the default); "
        "shared: the local broker of `rps infra up`",
    )
    parser.add_argument(
        "--keep-topics", action="store_true", help="keep each run's topics for inspection"
    )
    parser.add_argument("--out", type=Path, default=Path("artifacts") / "perf" / today)
    parser.add_argument(
        "--only",
        choices=["subscribers"],
        help="subscribers: only the headline's worker (to make the deliveries) and the "
        "reference subscriber's figure, into SQLite and PostgreSQL",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="with --only subscribers: cProfile each subscriber run into "
        "subscriber-<database>.pstats and .txt under --out",
    )
    return parser.parse_args(argv)


def scenarios(options: argparse.Namespace) -> list[scenario.Scenario]:
    """The runs, the headline first; duplicates dropped."""
    small, large = min(options.residents), max(options.residents)
    few = options.authorities[0]
    runs = [scenario.Scenario("memory://", small, few)]
    runs += [scenario.Scenario("rocksdb://", r, few) for r in sorted(options.residents)]
    runs += [scenario.Scenario("rocksdb://", small, a) for a in options.authorities[1:]]
    runs += [scenario.Scenario("memory://", large, few)]
    return list(dict.fromkeys(runs))


async def run_one(
    base: Settings,
    shared: Settings,
    plan: scenario.Scenario,
    options: argparse.Namespace,
    scratch: Path,
    headline: dict[str, Any] | None,
) -> dict[str, Any]:
    """One scenario, and the headline's extra figures when it is the first."""
    tag = uuid.uuid4().hex[:8]
    print(f"-- {plan.name} (topics perf{tag}.*)", flush=True)
    began = time.perf_counter()
    running = await scenario.start(base, shared, plan, scratch, tag)
    result: dict[str, Any] = {
        "store": plan.store,
        "residents": plan.residents,
        "authorities": plan.authorities,
        "start_seconds": round(time.perf_counter() - began, 1),
        "worker_restarts": running.restarts,
    }
    topics = Topics(running.settings.topic_prefix)
    # Each event fans out to every council, so runs with more councils send fewer events:
    # about the same number of outputs, and the same time, as the others.
    count = max(200, options.events * min(options.authorities) // plan.authorities)
    result["events"] = count
    records = workload.mix(count, plan.residents, running.councils, topics)
    try:
        live = await scenario.measure(running, records)
        live.pop("stamps")
        result["live"] = live
        print(f"   worker: {live['events_per_second']:,.0f} events/s", flush=True)
        if headline is None:
            result.update(await extras.headline(running, plan, options, scratch, live))
        result["rss_mib"], result["hwm_mib"] = (round(v) for v in running.memory_mib())
    finally:
        scenario.stop(running)
    log = scratch / f"{tag}-passthrough.log"
    ceiling = await scenario.ceiling(base, records, live["outputs"], f"{tag}p", log)
    result["passthrough"] = ceiling
    if not options.keep_topics:  # a shared broker holds only so many partitions
        await broker.delete_prefixed(base, f"perf{tag}")
    result["ratio"] = round(live["events_per_second"] / ceiling["events_per_second"], 3)
    print(f"   passthrough: {ceiling['events_per_second']:,.0f} events/s", flush=True)
    return result


async def run(options: argparse.Namespace) -> dict[str, Any]:
    """Every scenario and figure, on a broker of the suite's own unless told otherwise."""
    shared = Settings()
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rps-perf-") as temporary:
        scratch = Path(temporary)
        if options.broker == "shared":
            await infra.up(shared)
            return await _measure(options, shared, shared, scratch)
        await postgres.start(shared)
        port = _free_port()
        private = shared.model_copy(
            update={
                "state_dir": scratch / "broker",
                "kafka_port": port,
                "kafka_controller_port": _free_port(),
                "bootstrap_servers": f"127.0.0.1:{port}",
            }
        )
        await kafka.start(private)
        try:
            return await _measure(options, private, shared, scratch)
        finally:
            await asyncio.to_thread(kafka.stop, private)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _measure(
    options: argparse.Namespace, base: Settings, shared: Settings, scratch: Path
) -> dict[str, Any]:
    began = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kafka": infra.kafka_version(),
            "broker": options.broker,
            "note": "2 cores shared with other work; figures vary from run to run",
        },
        "options": {  # those given (or with a default)
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(options).items()
            if v is not None
        },
        "scenarios": [],
    }
    if options.only == "subscribers":
        results["scenarios"] = [await subscribers_only(base, shared, options, scratch)]
        results["seconds"] = round(time.perf_counter() - began, 1)
        return results
    for plan in scenarios(options):
        headline = results["scenarios"][0] if results["scenarios"] else None
        results["scenarios"].append(await run_one(base, shared, plan, options, scratch, headline))
        if headline is None:  # the same scenario with and without verification and sealing
            head = results["scenarios"][0]
            results["costs"] = await costs.measure(base, shared, head, options, scratch)
            # and with one worker, then two of one group sharing the partitions
            results["scaleout"] = await scaleout.measure(base, shared, head, options, scratch)
    results["publishing"] = await extras.publishing(base, options, scratch)
    await asyncio.to_thread(_keep_logs, scratch, options.out)
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["summary"] = summary(results)
    return results


async def subscribers_only(
    base: Settings, shared: Settings, options: argparse.Namespace, scratch: Path
) -> dict[str, Any]:
    """The headline scenario's worker decides the measured events (so each council has the
    same deliveries as in the whole suite), then only the subscriber figure is taken."""
    plan = scenarios(options)[0]
    tag = uuid.uuid4().hex[:8]
    print(f"-- {plan.name}, subscribers only (topics perf{tag}.*)", flush=True)
    running = await scenario.start(base, shared, plan, scratch, tag)
    topics = Topics(running.settings.topic_prefix)
    records = workload.mix(options.events, plan.residents, running.councils, topics)
    try:
        live = await scenario.measure(running, records)
        live.pop("stamps")
    finally:
        scenario.stop(running)
    profiles = options.out if options.profile else None
    try:
        figures = await extras.subscribers(running, profiles)
    finally:
        if not options.keep_topics:
            await broker.delete_prefixed(base, f"perf{tag}")
    return {
        "store": plan.store,
        "residents": plan.residents,
        "authorities": plan.authorities,
        "events": options.events,
        "live": live,
        "subscribers": figures,
    }


def _keep_logs(scratch: Path, out: Path) -> None:
    for log in scratch.glob("*.log"):
        (out / log.name).write_bytes(log.read_bytes())


def write(results: dict[str, Any], out: Path) -> str:
    """Write ``results.json`` and ``table.txt`` into ``out``; the table."""
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    only = results["options"].get("only")
    text = subscribers_table(results) if only == "subscribers" else table(results)
    (out / "table.txt").write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> None:
    """Run everything, print the table, write the results."""
    options = parse(argv)
    configure(level="warning")
    results = asyncio.run(run(options))
    print(write(results, options.out))
    print(f"written to {options.out}/ (results.json, table.txt, profile.txt, logs)")


if __name__ == "__main__":
    main(sys.argv[1:])
