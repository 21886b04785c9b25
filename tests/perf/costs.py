"""What verification and sealed profiles cost per event, read off one run of the suite.

The headline scenario runs with the settings as configured (by default everything on:
``RPS_TRUST=enforce`` and ``RPS_SEAL_PROFILES=true``). Right after it, the same scenario at the
same size runs in rounds (``--cost-rounds``, 3 by default), each run on a fresh worker and fresh
topics, with the same number of measured events and no further figures. Each round runs three
configurations in turn: as configured; with verification off (``RPS_TRUST=off``: the events
are sent unsigned and the worker checks neither signature nor role); with the stored profiles
not sealed (``RPS_SEAL_PROFILES=false``).

A feature's cost is the median worker CPU time per event of the runs as configured minus the
median of the runs without the feature. The host's speed drifts by a third within minutes;
one run of each, or a difference from the headline (the suite's first worker), put that drift
into the cost, where it showed as a negative cost of sealing. Interleaved rounds and medians
keep one slow window out. The facts log record the worker writes per decided input
(``<prefix>.facts.v1``) is sealed under the resident's data key in every run: no setting turns
that off, so its cost is in every figure.

Ratios are to the headline's passthrough, which moved the same events in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from rps.settings import Settings
from tests.perf import scaleout, scenario

AS_CONFIGURED = "as configured"
WITHOUT_VERIFICATION = "verification off"
WITHOUT_SEALING = "profile sealing off"
CONFIGURATIONS: list[tuple[str, dict[str, Any]]] = [
    (AS_CONFIGURED, {}),
    (WITHOUT_VERIFICATION, {"trust": "off"}),
    (WITHOUT_SEALING, {"seal_profiles": False}),
]
"""Each round's runs of the headline scenario, in order: a name and the settings it changes."""

FACTS_LOG = "always sealed (no setting turns it off): its cost is in every run"


def _settings(settings: Settings) -> dict[str, Any]:
    return {"trust": settings.trust, "seal_profiles": settings.seal_profiles}


def _figures(name: str, settings: Settings, live: dict[str, Any], ceiling: float) -> dict[str, Any]:
    return {
        "name": name,
        **_settings(settings),
        "events": live["events"],
        "events_per_second": live["events_per_second"],
        "worker_cpu_us_per_event": live["worker_cpu_us_per_event"],
        "ratio": round(live["events_per_second"] / ceiling, 3),
    }


async def measure(
    base: Settings,
    shared: Settings,
    head: dict[str, Any],
    options: argparse.Namespace,
    scratch: Path,
) -> dict[str, Any]:
    """The headline's figures beside those of each run of each round, and each feature's cost."""
    plan = scenario.Scenario(head["store"], head["residents"], head["authorities"])
    ceiling = head["passthrough"]["events_per_second"]
    runs = [_figures("headline", base, head["live"], ceiling)]
    for round_ in range(1, options.cost_rounds + 1):
        for name, update in CONFIGURATIONS:
            settings = base.model_copy(update=update)
            print(f"-- {plan.name}, {name}, round {round_}", flush=True)
            began = time.perf_counter()
            # one worker on fresh topics, as the scale-out's one-worker run
            live = await scaleout.run(
                settings, shared, plan, head["events"], 1, scratch, options.keep_topics
            )
            figures = _figures(name, settings, live, ceiling)
            figures["round"] = round_
            figures["worker_restarts"] = live["worker_restarts"]
            figures["seconds"] = round(time.perf_counter() - began, 1)
            runs.append(figures)
            print(f"   worker: {live['events_per_second']:,.0f} events/s", flush=True)
    return {"runs": runs, "rounds": options.cost_rounds, **paid(runs), "facts_log": FACTS_LOG}


def paid(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Each configuration's median CPU per event over the rounds (the headline left out), and
    each feature's cost: the median as configured minus the median without the feature."""
    cpu: dict[str, list[float]] = {name: [] for name, _ in CONFIGURATIONS}
    for run in runs:
        if "round" in run:
            cpu[run["name"]].append(run["worker_cpu_us_per_event"])
    median = {name: statistics.median(values) for name, values in cpu.items()}
    on = median[AS_CONFIGURED]
    return {
        "as_configured_cpu_us_per_event": round(on, 1),
        "verification_off_cpu_us_per_event": round(median[WITHOUT_VERIFICATION], 1),
        "profile_sealing_off_cpu_us_per_event": round(median[WITHOUT_SEALING], 1),
        "verification_cpu_us_per_event": round(on - median[WITHOUT_VERIFICATION], 1),
        "profile_sealing_cpu_us_per_event": round(on - median[WITHOUT_SEALING], 1),
    }


def lines(costs: dict[str, Any], head: dict[str, Any]) -> list[str]:
    """The table's section: each run's rate, ratio and CPU per event, each configuration's
    median, and each feature's cost."""
    store = head["store"].split(":")[0]
    out = [
        f"cost of verification and sealing: {store}, {head['residents']:,} residents, "
        f"{head['authorities']} LAs, {head['events']:,} events each, {costs['rounds']} rounds; "
        "ratios to the headline's passthrough; the facts log record is sealed in every run",
        f"  {'run':<22} {'round':>5} {'RPS_TRUST':>9} {'RPS_SEAL_PROFILES':>17} {'worker':>12} "
        f"{'ratio':>6} {'CPU us/event':>12}",
    ]
    for run in costs["runs"]:
        out.append(
            f"  {run['name']:<22} {run.get('round', '-'):>5} {run['trust']:>9} "
            f"{str(run['seal_profiles']).lower():>17} "
            f"{run['events_per_second']:>10,.0f}/s {run['ratio']:>6.2f} "
            f"{run['worker_cpu_us_per_event']:>12,.0f}"
        )
    on = costs["as_configured_cpu_us_per_event"]
    out += [
        f"  medians of the rounds, us of worker CPU per event: as configured {on:,.0f}, "
        f"verification off {costs['verification_off_cpu_us_per_event']:,.0f}, "
        f"profile sealing off {costs['profile_sealing_off_cpu_us_per_event']:,.0f}",
        f"  verification costs {costs['verification_cpu_us_per_event']:,.0f} us of worker CPU "
        "per event (median as configured minus median with verification off)",
        f"  sealing the stored profiles costs {costs['profile_sealing_cpu_us_per_event']:,.0f} "
        "us per event (median as configured minus median with profile sealing off)",
    ]
    return out
