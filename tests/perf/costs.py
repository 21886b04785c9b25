"""What verification and sealed profiles cost per event, read off one run of the suite.

The headline scenario runs with the settings as configured (by default everything on:
``RPS_TRUST=enforce`` and ``RPS_SEAL_PROFILES=true``). Right after it, the same scenario at the
same size runs twice more, each time on a fresh worker and fresh topics, with the same number
of measured events and no further figures: once with verification off (``RPS_TRUST=off``: the
events are sent unsigned and the worker checks neither signature nor role), once with the
stored profiles not sealed (``RPS_SEAL_PROFILES=false``). Each run's worker CPU time per event
beside the headline's gives what the feature costs. The facts log record the worker writes per
decided input (``<prefix>.facts.v1``) is sealed under the resident's data key in every run:
no setting turns that off, so its cost is in all three figures.

Ratios are to the headline's passthrough, which moved the same events in the same run.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from typing import Any

from rps.settings import Settings
from schemas.topics import Topics
from tests.perf import broker, scenario, workload

VARIANTS: dict[str, dict[str, Any]] = {
    "verification off": {"trust": "off"},
    "profile sealing off": {"seal_profiles": False},
}
"""Each further run of the headline scenario: its name and the settings it changes."""

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


async def variant(
    base: Settings,
    shared: Settings,
    plan: scenario.Scenario,
    events: int,
    scratch: Path,
    keep_topics: bool,
) -> dict[str, Any]:
    """One short run of ``plan`` with ``base``'s settings: the worker's live figures."""
    tag = uuid.uuid4().hex[:8]
    running = await scenario.start(base, shared, plan, scratch, tag)
    try:
        topics = Topics(running.settings.topic_prefix)
        records = workload.mix(events, plan.residents, running.councils, topics)
        live = await scenario.measure(running, records)
        live.pop("stamps")
        live["worker_restarts"] = running.restarts
        return live
    finally:
        scenario.stop(running)
        if not keep_topics:
            await broker.delete_prefixed(base, f"perf{tag}")


async def measure(
    base: Settings,
    shared: Settings,
    head: dict[str, Any],
    options: argparse.Namespace,
    scratch: Path,
) -> dict[str, Any]:
    """The headline's figures beside those of each variant, and each feature's cost."""
    plan = scenario.Scenario(head["store"], head["residents"], head["authorities"])
    ceiling = head["passthrough"]["events_per_second"]
    everything = base.trust == "enforce" and base.seal_profiles
    runs = [
        _figures("everything on" if everything else "as configured", base, head["live"], ceiling)
    ]
    for name, update in VARIANTS.items():
        settings = base.model_copy(update=update)
        print(f"-- {plan.name}, {name}", flush=True)
        began = time.perf_counter()
        live = await variant(settings, shared, plan, head["events"], scratch, options.keep_topics)
        figures = _figures(name, settings, live, ceiling)
        figures["worker_restarts"] = live["worker_restarts"]
        figures["seconds"] = round(time.perf_counter() - began, 1)
        runs.append(figures)
        print(f"   worker: {live['events_per_second']:,.0f} events/s", flush=True)
    on = runs[0]["worker_cpu_us_per_event"]
    return {
        "runs": runs,
        "verification_cpu_us_per_event": round(on - runs[1]["worker_cpu_us_per_event"], 1),
        "profile_sealing_cpu_us_per_event": round(on - runs[2]["worker_cpu_us_per_event"], 1),
        "facts_log": FACTS_LOG,
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
    out += [
        f"  verification costs {costs['verification_cpu_us_per_event']:,.0f} us of worker CPU "
        "per event (everything on minus verification off)",
        f"  sealing the stored profiles costs {costs['profile_sealing_cpu_us_per_event']:,.0f} "
        "us per event (everything on minus profile sealing off)",
    ]
    return out
