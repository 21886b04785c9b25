"""What each authority may hold at the end of the demo, by the pure core's word (no worker
involved), and the check of each reference subscriber's own database against it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

import schemas
from cli._demo_story import AUTHORITIES, NAMES, SUBSCRIBERS, Story
from consumers.subscriber import holdings, holdings_table, subscribe
from rps.settings import Settings
from streams.core import Directory, Profile, SubscriptionChange, apply_all, decide_all
from streams.worker import codec

Holdings = dict[str, dict[tuple[str, str], str]]
"""Per authority, by (local reference, attribute): the id of the claim it holds."""


def expected_holdings(s: Story, now: dt.datetime) -> Holdings:
    """What each authority may hold at the end of the story: the core's word."""
    events = [event for _, step in s.steps for event in step]
    return holdings_by_core(s.subscriptions, events, now, AUTHORITIES)


def holdings_by_core(
    subscriptions: Iterable[schemas.Event],
    events: Iterable[schemas.Event],
    now: dt.datetime,
    authorities: Iterable[str],
) -> Holdings:
    """What each authority may hold once ``events`` are decided in order, by (local reference,
    attribute): the claim id, as the pure core decides it, with no worker involved."""
    changes = [codec.to_fact(e) for e in subscriptions]
    directory: Directory = apply_all(c for c in changes if isinstance(c, SubscriptionChange))
    per_resident: dict[str, list[object]] = defaultdict(list)
    for event in events:
        per_resident[event.subject or ""].append(codec.to_fact(event))
    held: Holdings = {a: {} for a in authorities}
    for resident, facts in per_resident.items():
        outcomes = decide_all(Profile(resident), facts, directory, now)  # type: ignore[arg-type]
        for outcome in outcomes:
            for ending in outcome.endings:
                for attribute in ending.attributes:
                    held[ending.authority].pop((ending.local_reference, attribute), None)
            for d in outcome.deliveries:
                key = (d.local_reference, d.attribute)
                if d.claim is None:
                    held[d.authority].pop(key, None)
                else:
                    held[d.authority][key] = d.claim.id
    return held


async def check_subscribers(
    console: Console, demo: Settings, workdir: Path, expected: Holdings
) -> bool:
    """Run each subscriber authority's reference subscriber into its own SQLite database,
    print what it holds, and say whether every one holds exactly what the core allows."""
    ok = True
    for authority in SUBSCRIBERS:
        db_url = f"sqlite+aiosqlite:///{workdir / (NAMES[authority].lower() + '.db')}"
        await subscribe(demo, authority, db_url, stop_at_end=True)
        rows = await holdings(db_url)
        console.print(holdings_table(rows, title=f"{NAMES[authority]} ({authority}) holds"))
        actual = {(r.local_reference, r.attribute): r.claim_id for r in rows if r.claim_id}
        if actual != expected[authority]:
            ok = False
            console.print(f"[red]{NAMES[authority]} differs from what the core allows[/red]")
    return ok
