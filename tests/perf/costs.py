"""What verification and sealed profiles cost per event, read off one run of the suite.

The headline scenario runs with the settings as configured (by default everything on:
``RPS_TRUST=enforce`` and ``RPS_SEAL_PROFILES=true``). Right after it, the same scenario at the
same size runs four times more, each time on a fresh worker and fresh topics, with the same
number of measured events and no further figures, in this order: as configured; with
verification off (``RPS_TRUST=off``: the events are sent unsigned and the worker checks neither
signature nor role); with the stored profiles not sealed (``RPS_SEAL_PROFILES=false``); as
configured again. A feature's cost is the mean worker CPU time per event of the two runs as
configured, which bracket the others, minus that of the run without it: each side is a fresh
worker of the same size at nearly the same time, so the host's drift over the runs and the
headline's cold start (the first worker of the suite runs slower) stay out of the difference.
The facts log record the worker writes per decided input (``<prefix>.facts.v1``) is sealed
under the resident's data key in every run: no setting turns that off, so its cost is in
every figure.

Ratios are to the headline's passthrough, which moved the same events in the same run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rps.settings import Settings
from tests.perf import scenario

AS_CONFIGURED = "as configured"
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (AS_CONFIGURED, {}),
    ("verification off", {"trust": "off"}),
    ("profile sealing off", {"seal_profiles": False}),
    (AS_CONFIGURED, {}),
]
"""The further runs of the headline scenario, in order: each one's name and the settings it
changes. The two runs as configured bracket the two without a feature."""

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
    """The headline's figures beside those of each further run, and each feature's cost."""
    plan = scenario.Scenario(head["store"], head["residents"], head["authorities"])
    ceiling = head["passthrough"]["events_per_second"]
    runs = [_figures("headline", base, head["live"], ceiling)]
    for name, update in VARIANTS:
        settings = base.model_copy(update=update)
        print(f"-- {plan.name}, {name}", flush=True)
        began = time.perf_counter()
        live = await scenario.short_run(
            settings, shared, plan, head["events"], scratch, options.keep_topics
        )
        figures = _figures(name, settings, live, ceiling)
        figures["worker_restarts"] = live["worker_restarts"]
        figures["seconds"] = round(time.perf_counter() - began, 1)
        runs.append(figures)
        print(f"   worker: {live['events_per_second']:,.0f} events/s", flush=True)
    return {"runs": runs, **paid(runs), "facts_log": FACTS_LOG}


def paid(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Each feature's cost: the mean CPU per event of the runs as configured (the headline
    left out) minus that of the run without the feature."""
    cpu = {run["name"]: run["worker_cpu_us_per_event"] for run in runs[1:]}
    configured = [r["worker_cpu_us_per_event"] for r in runs[1:] if r["name"] == AS_CONFIGURED]
    on = sum(configured) / len(configured)
    return {
        "as_configured_cpu_us_per_event": round(on, 1),
        "verification_cpu_us_per_event": round(on - cpu["verification off"], 1),
        "profile_sealing_cpu_us_per_event": round(on - cpu["profile sealing off"], 1),
    }


def lines(costs: dict[str, Any], head: dict[str, Any]) -> list[str]:
    """The table's section: each run's rate, ratio and CPU per event, and each feature's cost."""
    store = head["store"].split(":")[0]
    out = [
        f"cost of verification and sealing: {store}, {head['residents']:,} residents, "
        f"{head['authorities']} LAs, {head['events']:,} events each; ratios to the headline's "
        "passthrough; the facts log record is sealed in every run",
        f"  {'run':<22} {'RPS_TRUST':>9} {'RPS_SEAL_PROFILES':>17} {'worker':>12} {'ratio':>6} "
        f"{'CPU us/event':>12}",
    ]
    for run in costs["runs"]:
        out.append(
            f"  {run['name']:<22} {run['trust']:>9} {str(run['seal_profiles']).lower():>17} "
            f"{run['events_per_second']:>10,.0f}/s {run['ratio']:>6.2f} "
            f"{run['worker_cpu_us_per_event']:>12,.0f}"
        )
    on = costs["as_configured_cpu_us_per_event"]
    out += [
        f"  verification costs {costs['verification_cpu_us_per_event']:,.0f} us of worker CPU "
        f"per event (the runs as configured, mean {on:,.0f}, minus verification off)",
        f"  sealing the stored profiles costs {costs['profile_sealing_cpu_us_per_event']:,.0f} "
        "us per event (the same mean minus profile sealing off)",
    ]
    return out
