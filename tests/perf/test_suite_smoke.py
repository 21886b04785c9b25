"""The performance suite, at a tiny size, against the real broker and databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.perf import suite

TINY = [
    "--residents", "200,400",
    "--authorities", "2,3",
    "--events", "200",
    "--latency-seconds", "2",
    "--latency-runs", "2",
    "--publish-events", "200",
    "--single", "50",
    "--cost-rounds", "2",
]  # fmt: skip


def _missing(value: Any, where: str = "") -> list[str]:
    """Paths in ``value`` that hold no figure (None, or an empty collection)."""
    if value is None or (isinstance(value, dict | list) and not value):
        return [where or "<root>"]
    if isinstance(value, dict):
        return [m for k, v in value.items() for m in _missing(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [m for n, v in enumerate(value) for m in _missing(v, f"{where}[{n}]")]
    return []


async def test_the_suite_produces_every_figure_at_a_tiny_size(tmp_path: Path) -> None:
    """Every scenario, latency run, profile, replay, subscriber, webhook and publishing figure,
    the headline's worker with verification off and with profile sealing off, and the headline
    with one worker and with two sharing the partitions, is measured and written to
    results.json and table.txt (nothing about time is asserted)."""
    options = suite.parse([*TINY, "--out", str(tmp_path)])
    results = await suite.run(options)
    text = suite.write(results, tmp_path)
    assert _missing(results) == []
    assert len(results["scenarios"]) == 5
    head = results["scenarios"][0]
    assert {"latency", "profile", "replay", "subscribers", "webhooks"} <= set(head)
    assert [p["share_of_peak"] for p in head["latency"]] == [0.2, 0.8]
    assert all(p["count"] > 0 for p in head["latency"])
    for point in head["latency"]:
        assert len(point["runs"]) == 2
        assert all(run["count"] > 0 for run in point["runs"])
        assert len({run["seed"] for run in point["runs"]}) == 2
        assert point["p99_ms_runs"] == [run["p99_ms"] for run in point["runs"]]
        assert point["p99_ms_worst"] == max(point["p99_ms_runs"])
        assert min(point["p99_ms_runs"]) <= point["p99_ms_median"] <= point["p99_ms_worst"]
    for share in ("20", "80"):
        figure = results["summary"][f"p99_ms_at_{share}_percent"]
        assert isinstance(figure["value"], float)
        assert len(figure["runs"]) == 2
    assert head["profile"]["samples"] > 0
    assert head["subscribers"]["sqlite"]["records"] == head["subscribers"]["deliveries"]
    assert head["subscribers"]["postgresql"]["records"] == head["subscribers"]["deliveries"]
    hooks = head["webhooks"]
    assert hooks["throughput"]["applied"] == head["subscribers"]["deliveries"]
    assert hooks["latency"]["count"] > 0
    for run in results["scenarios"]:
        assert run["live"]["events"] == run["events"] == 200
        assert run["live"]["outputs"] > run["live"]["events"]
        assert run["passthrough"]["outputs"] == run["live"]["outputs"]
        assert run["passthrough"]["cpu_us_per_event"] > 0
    paid = results["costs"]
    configurations = ["as configured", "verification off", "profile sealing off"]
    assert [r["name"] for r in paid["runs"]] == ["headline", *configurations * 2]
    assert [r.get("round") for r in paid["runs"]] == [None, 1, 1, 1, 2, 2, 2]
    assert [(r["trust"], r["seal_profiles"]) for r in paid["runs"]] == [
        ("enforce", True),
        *[("enforce", True), ("off", True), ("enforce", False)] * 2,
    ]
    assert paid["runs"][0]["worker_cpu_us_per_event"] == head["live"]["worker_cpu_us_per_event"]
    for run in paid["runs"]:
        assert run["events"] == 200
        assert run["worker_cpu_us_per_event"] > 0
        assert run["ratio"] > 0
    assert paid["rounds"] == 2
    for cost in ("verification_cpu_us_per_event", "profile_sealing_cpu_us_per_event"):
        assert isinstance(paid[cost], float)
    _assert_scale_out(results["scaleout"], head)
    assert set(results["summary"]) >= {
        "end_to_end_ratio",
        "cost_growth_residents",
        "verification_us_per_event",
        "profile_sealing_us_per_event",
        "scale_out_two_workers_to_one",
    }
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert (tmp_path / "profile.txt").stat().st_size > 0
    assert "passthrough" in text
    assert "cost of verification and sealing" in text
    assert "verification off" in text
    assert "latency at 80% of peak" in text
    assert "two workers / one" in text
    assert (tmp_path / "table.txt").read_text() == text + "\n"


def _assert_scale_out(scale: dict[str, Any], head: dict[str, Any]) -> None:
    """One worker, then two of one group, each deciding the headline's number of events, the
    two each holding inbound partitions of their own and each using CPU."""
    assert (scale["store"], scale["residents"]) == (head["store"], head["residents"])
    assert [run["workers"] for run in scale["runs"]] == [1, 2]
    for run in scale["runs"]:
        assert run["events"] == head["events"]
        assert run["outputs"] > run["events"]
        assert run["events_per_second"] > 0
        assert run["worker_cpu_us_per_event"] > 0
        assert len(run["cpu_share"]) == len(run["members"]) == run["workers"]
        assert all(share > 0 for share in run["cpu_share"])
        held = [p for member in run["members"] for p in member["partitions"]]
        assert sorted(held) == list(range(scale["partitions"]))
        assert all(member["partitions"] for member in run["members"])
        assert sum(member["inputs"] for member in run["members"]) == run["events"]
        assert run["group_unchanged"] is True
    assert scale["rate_ratio"] > 0
    assert scale["cpu_per_event_ratio"] > 0


async def test_only_subscribers_takes_the_subscriber_figure_alone(tmp_path: Path) -> None:
    """``--only subscribers``: the headline's worker makes the deliveries, then only the
    subscriber reads every one into each database, profiled with ``--profile``."""
    options = suite.parse(["--only", "subscribers", *TINY, "--profile", "--out", str(tmp_path)])
    results = await suite.run(options)
    text = suite.write(results, tmp_path)
    (head,) = results["scenarios"]
    assert head["live"]["events"] == 200
    assert not {"latency", "passthrough", "replay", "webhooks"} & set(head)
    subs = head["subscribers"]
    assert subs["deliveries"] > 0
    for kind in ("sqlite", "postgresql"):
        assert subs[kind]["records"] == subs[kind]["written"] == subs["deliveries"]
        assert (tmp_path / f"subscriber-{kind}.pstats").stat().st_size > 0
        assert "cumulative" in (tmp_path / f"subscriber-{kind}.txt").read_text()
        assert f"subscriber apply into {kind}" in text
