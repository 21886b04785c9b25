"""The headline scenario's further figures, the publishing rates, and the targets summary.

- latency: events sent at 20% and 80% of the measured peak, ``--latency-runs`` runs at
  each (3 by default), each run with its own seed; for each delivery, the create time of
  its ``delivered`` audit record minus that of its input; per share every run's
  percentiles, and the median and the worst of the runs' p99;
- profile: py-spy samples the worker while another batch is decided;
- replay: ``streams.operators.replay.rebuild`` over the inbound topics;
- subscribers: the reference subscriber applies the busiest council's
  deliveries into a fresh SQLite and a fresh PostgreSQL database
  (``tests/perf/bench_subscriber.py``);
- webhooks: the same deliveries POSTed, signed, to a loopback receiver by the
  webhook process, then its latency at 50 deliveries a second
  (``tests/perf/bench_webhooks.py``);
- publishing: ``rps publish`` and the gateway (``tests/perf/bench_publish.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from rps.reading import read_to_end
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators.replay import rebuild
from tests.perf import bench_publish, bench_subscriber, broker, workload
from tests.perf.scenario import Running, Scenario, measure

PY_SPY = str(Path(sys.executable).with_name("py-spy"))


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0}

    def rank(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {
        "count": len(ordered),
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": ordered[-1],
    }


async def latency(
    running: Running, plan: Scenario, peak: float, seconds: float, share: float, seed: int
) -> dict[str, Any]:
    """Publish -> delivery latency with events sent at ``share`` of ``peak``."""
    rate = max(1.0, share * peak)
    topics = Topics(running.settings.topic_prefix)
    count = max(20, int(rate * seconds))
    records = workload.mix(count, plan.residents, running.councils, topics, seed=seed)
    measured = await measure(running, records, rate=rate)
    stamps: dict[str, int] = measured["stamps"]
    samples: list[float] = []
    for record in await read_to_end(running.settings, topics.audit):
        data = orjson.loads(record.value)["data"]
        if data["decision"] == "delivered" and data["event_id"] in stamps:
            samples.append(float(record.timestamp - stamps[data["event_id"]]))
    return {"share_of_peak": share, "rate": round(rate, 1), **percentiles(samples)}


async def latencies(
    running: Running, plan: Scenario, peak: float, options: argparse.Namespace
) -> list[dict[str, Any]]:
    """Latency at 20% and 80% of ``peak``, ``options.latency_runs`` runs at each share."""
    figures = []
    for share in (0.2, 0.8):
        runs = []
        for n in range(options.latency_runs):
            seed = round(share * 100) + 1000 * n
            point = await latency(running, plan, peak, options.latency_seconds, share, seed)
            runs.append({"seed": seed, **point})
        figures.append(over_runs(runs))
        late = figures[-1]
        print(
            f"   latency at {share:.0%} of peak, {len(runs)} runs: p99 median "
            f"{late['p99_ms_median']} ms, worst {late['p99_ms_worst']} ms",
            flush=True,
        )
    return figures


def over_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs at one share of peak as one point: every run's figures, the deliveries timed over
    all of them, and the median and worst of the runs' p99 (``None`` when none had one)."""
    p99s = [run["p99_ms"] for run in runs if "p99_ms" in run]
    return {
        "share_of_peak": runs[0]["share_of_peak"],
        "rate": runs[0]["rate"],
        "count": sum(run["count"] for run in runs),
        "p99_ms_median": statistics.median(p99s) if p99s else None,
        "p99_ms_worst": max(p99s) if p99s else None,
        "p99_ms_runs": p99s,
        "runs": [
            {k: v for k, v in run.items() if k not in ("share_of_peak", "rate")} for run in runs
        ],
    }


async def profile(running: Running, plan: Scenario, events: int, out: Path) -> dict[str, Any]:
    """Sample the worker with py-spy while it decides ``events`` more; the hottest frames."""
    topics = Topics(running.settings.topic_prefix)
    records = workload.mix(events, plan.residents, running.councils, topics, seed=99)
    target = out / "profile.txt"
    spy = await asyncio.create_subprocess_exec(
        PY_SPY,
        "record",
        "--format",
        "raw",
        "--nonblocking",
        "--rate",
        "200",
        "--pid",
        str(running.process.pid),
        "--output",
        str(target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await asyncio.sleep(1)
        measured = await measure(running, records)
    finally:
        spy.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(spy.communicate(), 60)
    if not target.exists():
        raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
    return {
        "events_per_second_while_sampled": measured["events_per_second"],
        **hottest(target.read_text()),
    }


def hottest(collapsed: str, top: int = 12) -> dict[str, Any]:
    """Share of samples per function: on the CPU itself (self) and anywhere on the stack."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame.split(" (")[0] + _where(frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            anywhere[frame] += int(count)

    def share(count: int) -> float:
        return round(100 * count / max(total, 1), 1)

    return {
        "samples": total,
        "self_percent": {f: share(c) for f, c in own.most_common(top)},
        "total_percent": {
            f: share(c)
            for f, c in anywhere.most_common(200)
            if any(p in f for p in ("streams/", "schemas/", "rps/", "faust/", "aiokafka/"))
        },
    }


def _where(frame: str) -> str:
    """`` (package/module.py)`` from a py-spy frame ``name (path/to/package/module.py:12)``."""
    if " (" not in frame:
        return ""
    path = frame.split(" (", 1)[1].rstrip(")").split(":")[0]
    return " (" + "/".join(path.split("/")[-2:]) + ")"


async def replay(settings: Settings, live_rate: float) -> dict[str, Any]:
    """Rebuild every resident's state from the inbound topics; its rate."""
    started = time.perf_counter()
    rebuilt = await rebuild(settings)
    seconds = time.perf_counter() - started
    rate = rebuilt.events / seconds
    return {
        "events": rebuilt.events,
        "residents": len(rebuilt.states),
        "seconds": round(seconds, 2),
        "events_per_second": round(rate, 1),
        "ratio_to_live": round(rate / live_rate, 2),
    }


async def subscribers(running: Running, profiles: Path | None = None) -> dict[str, Any]:
    """The reference subscriber's apply rate into SQLite and PostgreSQL, busiest council;
    with ``profiles``, each run under cProfile, its statistics written there."""
    settings = running.settings
    topics = Topics(settings.topic_prefix)
    sizes = {c: await broker.total(settings, [topics.deliveries(c)]) for c in running.councils}
    council = max(sizes, key=lambda c: sizes[c])
    figures = await bench_subscriber.rates(settings, council, running.base, profiles)
    return {"authority": council, "deliveries": sizes[council], **figures}


async def headline(
    running: Running,
    plan: Scenario,
    options: argparse.Namespace,
    out: Path,
    live: dict[str, Any],
) -> dict[str, Any]:
    """Latency at 20% and 80% of peak, the profile, replay and the subscribers."""
    peak = live["events_per_second"]
    figures: dict[str, Any] = {"latency": await latencies(running, plan, peak, options)}
    options.out.mkdir(parents=True, exist_ok=True)
    figures["profile"] = await profile(running, plan, max(100, options.events // 2), options.out)
    print(f"   profiled: {figures['profile']['samples']} samples", flush=True)
    figures["replay"] = await replay(running.settings, peak)
    print(f"   replay: {figures['replay']['events_per_second']:,.0f} events/s", flush=True)
    figures["subscribers"] = await subscribers(running)
    print(f"   subscribers: {figures['subscribers']}", flush=True)
    figures["webhooks"] = await webhooks(running, options.latency_seconds)
    print(f"   webhooks: {figures['webhooks']}", flush=True)
    return figures


async def webhooks(running: Running, seconds: float) -> dict[str, Any]:
    """The webhook path for the busiest council, beside the subscriber: its deliveries POSTed,
    signed, to a loopback receiver (throughput), then latency at 50 deliveries a second."""
    from tests.perf import bench_webhooks  # it imports this module's percentiles

    settings = running.settings
    topics = Topics(settings.topic_prefix)
    sizes = {c: await broker.total(settings, [topics.deliveries(c)]) for c in running.councils}
    council = max(sizes, key=lambda c: sizes[c])
    figures = await bench_webhooks.for_authority(
        settings, council, 50.0, seconds, settings.state_dir
    )
    return {"authority": council, **figures}


async def publishing(base: Settings, options: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """``rps publish`` and the gateway (batches, and one event a request), on fresh topics."""
    settings = base.model_copy(update={"topic_prefix": f"perf{uuid.uuid4().hex[:8]}"})
    await bench_publish.create_topics(settings)
    path = scratch / "publish.jsonl"
    count, single = options.publish_events, min(options.single, options.publish_events)
    bench_publish.generate(path, count)
    env = {
        **os.environ,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_PUBLISHER_SOURCE": bench_publish.SOURCE,
        "RPS_DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/gateway.db",
        "RPS_LOG_LEVEL": "warning",
    }
    cli = await bench_publish.bench_cli(path, count, env, settings)
    batch, one = await bench_publish.bench_gateway(path, count, single, env, settings, 500)
    if not options.keep_topics:
        await broker.delete_prefixed(settings, settings.topic_prefix)
    return {
        "events": count,
        "rps_publish_events_per_second": round(cli, 1),
        "gateway_batch_events_per_second": round(batch, 1),
        "gateway_single_events": single,
        "gateway_single_events_per_second": round(one, 1),
    }
