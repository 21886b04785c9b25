"""``rps demo``: the whole story on a laptop, through a real worker, on fresh topics.

Liverpool (E08000012), Wirral (E08000015), DWP, DVLA and Sefton (E08000014)
subscribe; three residents consent differently; then an address change, a
low-assurance email, two registered deaths (one a typo that is corrected, one
reported in error and retracted) and withdrawn consents flow through an ``rps
worker`` process. Four authorities' reference subscribers then apply their
deliveries into their own SQLite databases; Sefton, which has no Kafka,
receives signed webhooks on a loopback receiver (``rps webhooks run``). The
demo prints who received what and what was withheld and why (ids, attribute
names and reasons, never a value), and checks every authority's holdings
against what the pure core says it may hold.

Every event is signed by its own source, registered with its role on the
demo's topics (``cli/_demo_signing.py``); one forged consent, signed by Wirral
for a resident who withdrew from it, is refused and shown as such.

The story itself is in ``cli/_demo_story.py``, the core's word on what each authority
may hold and the subscribers' check in ``cli/_demo_checks.py``, the tables of decisions
in ``cli/_demo_tables.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from rich.console import Console

import infra
import schemas
from cli._demo_checks import check_subscribers, expected_holdings
from cli._demo_signing import SignedPublishers
from cli._demo_story import AUTHORITIES, NAMES, SEFTON, WIRRAL, Story, story
from cli._demo_tables import print_decisions
from cli.demo_webhook import deliver_by_webhook
from cli.spawn import start_worker, stop_worker
from rps.private import private_directory
from rps.reading import read_events
from rps.settings import Settings
from schemas.topics import Topics


async def run_demo(settings: Settings, *, keep_running: bool = False) -> bool:
    """Run the story end to end; True when every authority holds exactly what it may."""
    console = Console(width=None if Console().is_terminal else 120)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
    demo = settings.model_copy(
        update={
            "topic_prefix": f"{settings.topic_prefix}-demo-{stamp}",
            "registry_grace_seconds": 0.0,  # fresh topics: the demo's keys sign at once
        }
    )
    topics = Topics(demo.topic_prefix)
    workdir = demo.state_dir / "demo" / demo.topic_prefix
    private_directory(workdir)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    s = story(now, demo.topic_prefix)
    console.rule(f"Resident Profile Sync demo — topics {demo.topic_prefix}.*")
    await infra.ensure_topics(demo)
    for authority in AUTHORITIES:
        await infra.ensure_delivery_topic(demo, authority)

    started = time.monotonic()
    async with SignedPublishers(demo) as publisher:
        await publisher.publish_many(s.subscriptions)
        console.print(
            f"{len(s.subscriptions)} subscriptions published (Liverpool, Wirral, DWP, DVLA, Sefton)"
        )
        worker = start_worker(demo, workdir / "worker.log")
        console.print(f"worker started (pid {worker.pid}; log {workdir / 'worker.log'})")
        try:
            inputs = 0
            for title, events in s.steps:
                await publisher.publish_many(events)
                inputs += len(events)
                await _wait_for_decisions(demo, topics, {e.id for e in events}, worker)
                console.print(f"  decided: {title} ({len(events)} events)")
            if demo.trust == "enforce":
                c = next(r for r, label in s.residents.items() if label == "resident C")
                forged = await publisher.forge_consent(c, WIRRAL, now)
                await _wait_for_decisions(demo, topics, {forged.id}, worker)
                console.print(
                    "  refused: Wirral signed a consent for resident C itself "
                    "(only the resident app may say a resident consented)"
                )
            ok = await _finish(console, demo, topics, s, now, workdir, worker, inputs, started)
        finally:
            if not keep_running:
                stop_worker(worker)
    return ok


async def _finish(
    console: Console,
    demo: Settings,
    topics: Topics,
    s: Story,
    now: dt.datetime,
    workdir: Path,
    worker: object,
    inputs: int,
    started: float,
) -> bool:
    expected = expected_holdings(s, now)
    ids = {e.id for _, events in s.steps for e in events}
    audit = await _wait_for_decisions(demo, topics, ids, worker)
    decided = time.monotonic() - started
    print_decisions(console, s, audit)
    console.rule("Each authority's own database (reference subscriber, SQLite)")
    ok = await check_subscribers(console, demo, workdir, expected)
    console.rule("An authority without Kafka: signed webhooks to an HTTPS endpoint (loopback)")
    title = f"{NAMES[SEFTON]} ({SEFTON})"
    if not await deliver_by_webhook(console, demo, SEFTON, title, workdir, expected[SEFTON]):
        ok = False
        console.print(f"[red]{NAMES[SEFTON]} differs from what the core allows[/red]")
    total = time.monotonic() - started
    console.rule("Result")
    console.print(
        f"{inputs} inbound events decided in {decided:.1f} s "
        f"({inputs / decided:.1f} events/s including worker start-up); "
        f"whole demo {total:.1f} s"
    )
    console.print(
        "[green]every authority holds exactly what it may[/green]"
        if ok
        else "[red]some authority holds something it may not[/red]"
    )
    return ok


async def _wait_for_decisions(
    demo: Settings, topics: Topics, ids: set[str], worker: object, wait: float = 120
) -> list[schemas.AuditRecorded]:
    deadline = time.monotonic() + wait
    while True:
        records = [
            e for e in await read_events(demo, topics.audit) if isinstance(e, schemas.AuditRecorded)
        ]
        seen = {r.data.event_id for r in records}
        if ids <= seen:
            await asyncio.sleep(1.0)  # let the decisions' deliveries settle too
            return [
                e
                for e in await read_events(demo, topics.audit)
                if isinstance(e, schemas.AuditRecorded)
            ]
        if getattr(worker, "poll", lambda: None)() is not None:
            raise RuntimeError("the worker stopped; see its log")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids - seen)} events were not decided in {wait:.0f} s")
        await asyncio.sleep(0.2)
