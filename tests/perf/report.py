"""The suite's results as targets met or not, and as the printed table."""

from __future__ import annotations

from typing import Any

from tests.perf import costs, scaleout

GIB_MIB = 1024


def _find(results: dict[str, Any], store: str, residents: int, authorities: int) -> dict[str, Any]:
    for run in results["scenarios"]:
        if (run["store"], run["residents"], run["authorities"]) == (store, residents, authorities):
            return dict(run)
    raise KeyError(f"{store} {residents} {authorities}")


def _cost(run: dict[str, Any]) -> float:
    return float(run["live"]["worker_cpu_us_per_event"])


def latency_runs(point: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of one latency point (a point of a single run, as results.json held before
    2026-12-06, is its own run)."""
    return list(point.get("runs", [point]))


def p99(point: dict[str, Any]) -> dict[str, Any]:
    """A latency point's p99 as a summary figure: the median of its runs', with each run's
    and the worst beside it."""
    runs = [run["p99_ms"] for run in latency_runs(point) if "p99_ms" in run]
    return {
        "value": point.get("p99_ms_median", point.get("p99_ms")),
        "runs": runs,
        "worst": max(runs) if runs else None,
    }


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, each with the figure it was judged on."""
    runs = results["scenarios"]
    head = runs[0]
    small, few = head["residents"], head["authorities"]
    large = max(r["residents"] for r in runs)
    many = max(r["authorities"] for r in runs)
    rocks_small = _find(results, "rocksdb://", small, few)
    rocks_large = _find(results, "rocksdb://", large, few)
    rocks_many = _find(results, "rocksdb://", small, many)
    mem_large = _find(results, "memory://", large, few)
    slow, busy = head["latency"]
    paid = results["costs"]
    return {
        "end_to_end_ratio": {"value": head["ratio"], "target": ">= 0.5"},
        "p99_ms_at_20_percent": {**p99(slow), "target": "<= 50"},
        "p99_ms_at_80_percent": p99(busy),
        "cost_growth_residents": {
            "value": round(_cost(rocks_large) / _cost(rocks_small), 2),
            "between": [small, large],
            "target": "<= 1.2",
        },
        "cost_growth_authorities": {
            "value": round(_cost(rocks_many) / _cost(rocks_small), 2),
            "between": [few, many],
            "per_output": round(
                rocks_many["live"]["worker_cpu_us_per_output"]
                / rocks_small["live"]["worker_cpu_us_per_output"],
                2,
            ),
        },
        "replay_ratio_to_live": {"value": head["replay"]["ratio_to_live"], "target": ">= 2"},
        "rss_mib_rocksdb": {
            "value": rocks_large["rss_mib"],
            "peak": rocks_large["hwm_mib"],
            "residents": large,
            "target": f"<= {GIB_MIB} at 1,000,000 residents",
        },
        "rss_mib_memory": {
            "value": mem_large["rss_mib"],
            "peak": mem_large["hwm_mib"],
            "residents": large,
        },
        "verification_us_per_event": {
            "value": paid["verification_cpu_us_per_event"],
            "of": paid["as_configured_cpu_us_per_event"],
        },
        "profile_sealing_us_per_event": {
            "value": paid["profile_sealing_cpu_us_per_event"],
            "of": paid["as_configured_cpu_us_per_event"],
        },
        "scale_out_two_workers_to_one": {
            "value": results["scaleout"]["rate_ratio"],
            "cpu_per_event": results["scaleout"]["cpu_per_event_ratio"],
            "cores": results["scaleout"]["cores"],
        },
    }


def _rate(value: float, ceiling: float) -> str:
    return f"{value:>10,.0f}/s  {value / ceiling:>5.2f}x"


def subscriber_lines(subs: dict[str, Any], ceiling: float | None) -> list[str]:
    """The reference subscriber's rate into each database (with its ratio when ``ceiling``)."""
    lines = []
    for kind in ("sqlite", "postgresql"):
        if "error" in subs[kind]:
            lines.append(f"subscriber apply into {kind}: failed ({subs[kind]['error']})")
            continue
        rate = subs[kind]["records_per_second"]
        lines.append(
            f"subscriber apply into {kind:<10} ({subs[kind]['records']:,} deliveries): "
            + (_rate(rate, ceiling) if ceiling else f"{rate:>10,.0f}/s")
            + f"  ({subs[kind]['seconds']:,.2f} s, "
            + f"{subs[kind]['cpu_us_per_record']:,.0f} us CPU each)"
        )
    return lines


def subscribers_table(results: dict[str, Any]) -> str:
    """The table of ``--only subscribers``: the worker's run that made the deliveries, then
    the subscriber's rates."""
    head = results["scenarios"][0]
    return "\n".join(
        [
            f"Resident Profile Sync, reference subscriber, {results['date']}",
            f"({results['machine']['cpus']} cores, shared with other work; Kafka "
            f"{results['machine']['kafka']}; suite {results['seconds']:,.0f} s)",
            f"deliveries made by {head['store'].split(':')[0]}, {head['residents']:,} residents, "
            f"{head['authorities']} LAs, {head['live']['events']:,} events "
            f"({head['live']['events_per_second']:,.0f} events/s); busiest council "
            f"{head['subscribers']['authority']}",
            *subscriber_lines(head["subscribers"], None),
        ]
    )


def latency_lines(point: dict[str, Any]) -> list[str]:
    """One latency point: the median and worst p99 of its runs, then each run's figures."""
    runs, figure = latency_runs(point), p99(point)
    out = [
        f"latency at {point['share_of_peak']:.0%} of peak ({point['rate']:,.0f}/s), "
        f"{len(runs)} run{'s' if len(runs) > 1 else ''}: p99 median {figure['value']} ms, "
        f"worst {figure['worst']} ms"
    ]
    for n, run in enumerate(runs, 1):
        seed = f"seed {run['seed']}, " if "seed" in run else ""
        out.append(
            f"  run {n} ({seed}{run['count']} deliveries): p50 {run.get('p50_ms')} ms, "
            f"p95 {run.get('p95_ms')} ms, p99 {run.get('p99_ms')} ms, max {run.get('max_ms')} ms"
        )
    return out


def table(results: dict[str, Any]) -> str:
    """A plain-text table of every figure, with its ratio to the passthrough."""
    head = results["scenarios"][0]
    ceiling = head["passthrough"]["events_per_second"]
    lines = [
        f"Resident Profile Sync performance, {results['date']}",
        f"({results['machine']['cpus']} cores, shared with other work; Kafka "
        f"{results['machine']['kafka']}; {head['live']['events']:,} events per run; "
        f"suite {results['seconds']:,.0f} s)",
        "",
        f"{'scenario':<38} {'worker':>12} {'passthrough':>12} {'ratio':>6} "
        f"{'CPU us/event':>12} {'(passthrough)':>13} {'outputs/event':>13} {'RSS MiB':>8}",
    ]
    for run in results["scenarios"]:
        live, ceil = run["live"], run["passthrough"]
        store = run["store"].split(":")[0]
        name = f"{store}, {run['residents']:,} residents, {run['authorities']} LAs"
        lines.append(
            f"{name:<38} {live['events_per_second']:>10,.0f}/s "
            f"{ceil['events_per_second']:>10,.0f}/s "
            f"{run['ratio']:>6.2f} {live['worker_cpu_us_per_event']:>12,.0f} "
            f"{ceil.get('cpu_us_per_event', float('nan')):>13,.0f} "
            f"{live['outputs'] / live['events']:>13.1f} {run['rss_mib']:>8,}"
        )
    lines += ["", *costs.lines(results["costs"], head)]
    lines += ["", *scaleout.lines(results["scaleout"])]
    lines += [
        "",
        f"headline: {head['store']}, {head['residents']:,} residents, "
        f"{head['authorities']} LAs; ratios to its passthrough ({ceiling:,.0f} events/s)",
    ]
    for point in head["latency"]:
        lines += latency_lines(point)
    replay = head["replay"]
    lines.append(
        f"replay (rebuild {replay['events']:,} events): "
        f"{_rate(replay['events_per_second'], ceiling)}"
        f"  ({replay['ratio_to_live']:.2f}x live)"
    )
    lines += subscriber_lines(head["subscribers"], ceiling)
    hooks = head["webhooks"]
    late = hooks["latency"]
    lines.append(
        f"webhooks, signed POST to loopback ({hooks['throughput']['deliveries']:,} deliveries): "
        f"{_rate(hooks['throughput']['deliveries_per_second'], ceiling)}"
    )
    lines.append(
        f"webhook latency at {late['rate']:,.0f}/s ({late['count']} deliveries): "
        f"p50 {late.get('p50_ms')} ms, p95 {late.get('p95_ms')} ms, "
        f"p99 {late.get('p99_ms')} ms, max {late.get('max_ms')} ms"
    )
    pub = results["publishing"]
    lines.append(
        f"rps publish ({pub['events']:,} events): "
        f"{_rate(pub['rps_publish_events_per_second'], ceiling)}"
    )
    lines.append(
        f"gateway, batches of 500: {_rate(pub['gateway_batch_events_per_second'], ceiling)}"
    )
    lines.append(
        f"gateway, one event a request: {_rate(pub['gateway_single_events_per_second'], ceiling)}"
    )
    lines += ["", "targets:"]
    for name, figure in results["summary"].items():
        extra = {k: v for k, v in figure.items() if k != "value"}
        lines.append(f"  {name:<26} {figure['value']!s:>8}  {extra}")
    prof = head["profile"]
    lines += ["", f"profile ({prof['samples']} samples), hottest on the CPU:"]
    lines += [f"  {share:5.1f}%  {frame}" for frame, share in prof["self_percent"].items()]
    return "\n".join(lines)
