"""The benchmarks beside the suite, at a tiny size: each produces its figures (none timed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rps.settings import Settings
from tests.perf import bench_hotpath, bench_keys, bench_subscriber, bench_webhooks, floor, rounds


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
def test_the_hot_path_benchmark_times_every_step(sealed: bool) -> None:
    """Each step of the worker's per-event work gets a cost, and the decisions have outputs,
    with the stored values sealed or not."""
    figures = bench_hotpath.run(events=200, residents=100, authorities=3, sealed=sealed)
    steps = [
        "decode input",
        "decode stored profile",
        "decide",
        "encode outputs",
        "facts log record",
        "encode profile",
        "encode outbox entry",
        "link audit records",
    ]
    assert all(figures[step] > 0 for step in steps)
    assert figures["total"] == pytest.approx(sum(figures[step] for step in steps))
    assert figures["outputs per event"] > 1


@pytest.mark.parametrize(("mode", "outputs"), [("ack", 0), ("send", 2), ("table", 2)])
async def test_the_faust_floor_measures_each_mode(
    local_services: Settings, tmp_path: Path, mode: str, outputs: int
) -> None:
    """The no-logic Faust app takes every input, writes what its mode says, and is timed."""
    result = await floor.measure(mode, 100, 2, tmp_path, local_services)
    assert result["events"] == 100
    assert result["outputs"] == 100 * outputs
    assert result["cpu_us_per_event"] > 0


async def test_rounds_time_one_worker_round_after_round(local_services: Settings) -> None:
    """Each round through the same running worker is decided and timed, and what it wrote to
    the table is read back: profiles, and no outbox entry left once the round is settled."""
    figures = await rounds.run("memory://", 100, 2, 100, 2, local_services)
    assert [f["events"] for f in figures] == [100, 100]
    assert all(f["outputs"] > f["events"] for f in figures)
    assert all(f["worker_cpu_us_per_event"] > 0 for f in figures)
    assert all(f["footprint"].profiles > 0 and f["footprint"].bytes > 0 for f in figures)
    assert [f["footprint"].entries_left for f in figures] == [0, 0]


async def test_the_webhook_benchmark_drains_and_times_deliveries(
    local_services: Settings, tmp_path: Path
) -> None:
    """Every waiting delivery is POSTed, verified and acknowledged; live ones are timed."""
    figures = await bench_webhooks.measure(local_services, 60, 12, 10.0, 1.0, tmp_path)
    assert figures["throughput"]["applied"] == figures["throughput"]["deliveries"] == 60
    assert figures["throughput"]["signatures_refused"] == 0
    assert figures["latency"]["count"] == 10


async def test_the_subscriber_benchmark_drains_into_both_databases(
    local_services: Settings, tmp_path: Path
) -> None:
    """Every synthetic delivery is read and written into SQLite and into PostgreSQL, each run
    timed and its CPU counted."""
    figures = await bench_subscriber.measure(local_services, 300, tmp_path)
    for kind in ("sqlite", "postgresql"):
        run = figures[kind]
        assert run["records"] == run["written"] == 300
        assert run["batches"] >= 1
        assert run["cpu_us_per_record"] > 0


async def test_the_key_benchmark_times_every_step_on_both_databases(
    local_services: Settings, tmp_path: Path
) -> None:
    """Each way of getting keys is timed on SQLite and PostgreSQL, CPU and wall per resident."""
    figures = await bench_keys.measure(local_services, 40, 16, tmp_path)
    for kind in ("sqlite", "postgresql"):
        steps = figures[kind]
        assert set(steps) == {
            "made one at a time",
            "read one at a time",
            "read ahead",
            "made at once",
        }
        assert all(step["cpu_us"] > 0 and step["wall_us"] > 0 for step in steps.values())
