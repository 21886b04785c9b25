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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

import infra
import schemas
from cli._demo_signing import SignedPublishers
from cli.demo_webhook import deliver_by_webhook
from cli.spawn import start_worker, stop_worker
from consumers.subscriber import holdings, holdings_table, subscribe
from producers import events as build
from rps.private import private_directory
from rps.reading import read_events
from rps.settings import Settings
from schemas.topics import Topics
from streams.core import Directory, Profile, SubscriptionChange, apply_all, decide_all
from streams.worker import codec

LIVERPOOL, WIRRAL, DWP, DVLA = "E08000012", "E08000015", "urn:org:dwp", "urn:org:dvla"
SEFTON = "E08000014"
SUBSCRIBERS = (LIVERPOOL, WIRRAL, DWP, DVLA)
"""Authorities that run the reference subscriber into their own database."""
AUTHORITIES = (*SUBSCRIBERS, SEFTON)
"""Sefton receives by signed webhook (``cli.demo_webhook``)."""
REGISTRAR = "urn:org:gro"
RESIDENT_APP = "urn:org:resident-app"
NAMES = {LIVERPOOL: "Liverpool", WIRRAL: "Wirral", DWP: "DWP", DVLA: "DVLA", SEFTON: "Sefton"}


@dataclass
class Story:
    """The demo's events, in the order they are published, with readable labels."""

    subscriptions: list[schemas.Event] = field(default_factory=list)
    steps: list[tuple[str, list[schemas.Event]]] = field(default_factory=list)
    residents: dict[str, str] = field(default_factory=dict)  # hub id -> label


def _address(uprn: str, line: str, town: str, postcode: str, authority: str) -> dict[str, object]:
    return {
        "uprn": uprn,
        "lines": [line],
        "town": town,
        "postcode": postcode,
        "local_authority": authority,
    }


def _verified(
    source: str,
    resident: str,
    attribute: str,
    value: object,
    assurance: str,
    method: str,
    verified_at: dt.datetime,
    now: dt.datetime,
) -> schemas.AttributeVerified:
    return build.verified(
        source=source,
        resident=resident,
        attribute=attribute,
        value=value,
        assurance=assurance,
        method=method,
        verified_at=verified_at,
        now=now,
    )


def _retracted(
    source: str, resident: str, claim_id: str, attribute: str, reason: str, now: dt.datetime
) -> schemas.AttributeRetracted:
    return build.retracted(
        source=source,
        resident=resident,
        claim_id=claim_id,
        attribute=attribute,
        reason=reason,
        now=now,
    )


def story(now: dt.datetime, seed: str) -> Story:
    """The scenario. Resident ids are derived from ``seed`` so each run has its own."""
    s = Story()
    a, b, c = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{n}")) for n in "abc")
    s.residents = {a: "resident A", b: "resident B", c: "resident C"}
    earlier = now - dt.timedelta(days=3)

    def sub(authority: str, attribute: str, level: str) -> schemas.Event:
        return build.subscription_changed(
            source=schemas.source_of_authority(authority),
            authority=authority,
            attribute=attribute,
            minimum_assurance=level,
            active=True,
            now=now,
        )

    s.subscriptions = [
        sub(LIVERPOOL, "address", "medium"),
        sub(LIVERPOOL, "email", "medium"),
        sub(LIVERPOOL, "date_of_death", "high"),
        sub(WIRRAL, "address", "medium"),
        sub(WIRRAL, "email", "medium"),
        sub(WIRRAL, "date_of_death", "high"),
        sub(DWP, "address", "medium"),
        sub(DWP, "date_of_death", "high"),
        sub(DVLA, "address", "high"),
        sub(DVLA, "date_of_death", "high"),
        sub(SEFTON, "address", "medium"),
        sub(SEFTON, "date_of_death", "high"),
    ]

    granted_at = now - dt.timedelta(minutes=10)

    def grant(resident: str, authority: str, attributes: list[str], ref: str) -> schemas.Event:
        return build.consent_granted(
            source=RESIDENT_APP,
            resident=resident,
            authority=authority,
            attributes=attributes,
            purpose="tell_us_once",
            local_reference=ref,
            now=granted_at,
        )

    s.steps.append(
        (
            "Three residents consent differently",
            [
                grant(a, LIVERPOOL, ["address", "email", "date_of_death"], "LIV-CT-100231"),
                grant(a, WIRRAL, ["address", "email"], "WIR-CT-200412"),
                grant(a, DWP, ["address", "date_of_death"], "DWP-CASE-300117"),
                grant(b, DWP, ["address", "date_of_death"], "DWP-CASE-400233"),
                grant(b, DVLA, ["address", "date_of_death"], "DVLA-DRV-500981"),
                grant(b, LIVERPOOL, ["date_of_death"], "LIV-CT-600540"),
                grant(c, WIRRAL, ["address", "email", "date_of_death"], "WIR-CT-700318"),
                grant(a, SEFTON, ["address"], "SEF-CT-800125"),
                grant(b, SEFTON, ["date_of_death"], "SEF-CT-800266"),
                grant(c, SEFTON, ["address", "date_of_death"], "SEF-CT-800377"),
            ],
        )
    )
    moved = _verified(
        schemas.source_of_authority(LIVERPOOL),
        a,
        "address",
        _address("38012345", "1 Dale Street", "Liverpool", "L2 2DH", LIVERPOOL),
        "medium",
        "council_tax_record",
        earlier,
        now,
    )
    s.steps.append(("Liverpool verifies resident A's new address (medium)", [moved]))
    email = _verified(
        RESIDENT_APP, a, "email", "resident.a@example.org", "low", "self_declared", earlier, now
    )
    s.steps.append(("Resident A types in an email address (low)", [email]))
    typo = _verified(
        REGISTRAR,
        b,
        "date_of_death",
        {"date": "2026-11-02", "date_of_birth": "1941-05-17"},
        "high",
        "death_registration",
        earlier,
        now,
    )
    s.steps.append(("The registrar registers resident B's death (high)", [typo]))
    fixed = _verified(
        REGISTRAR,
        b,
        "date_of_death",
        {"date": "2026-11-01", "date_of_birth": "1941-05-17"},
        "high",
        "death_registration",
        earlier + dt.timedelta(hours=2),
        now,
    )
    s.steps.append(
        (
            "The registrar corrects the date: retracts the typo, registers the right date",
            [_retracted(REGISTRAR, b, typo.id, "date_of_death", "mistyped", now), fixed],
        )
    )
    wrong = _verified(
        REGISTRAR,
        c,
        "date_of_death",
        {"date": "2026-11-03", "date_of_birth": None},
        "high",
        "death_registration",
        earlier,
        now,
    )
    s.steps.append(("A death is registered for resident C: the wrong person", [wrong]))
    s.steps.append(
        (
            "The registrar retracts it: reported in error",
            [_retracted(REGISTRAR, c, wrong.id, "date_of_death", "reported_in_error", now)],
        )
    )
    s.steps.append(
        (
            "Resident C withdraws consent from Wirral and Sefton, then Liverpool verifies C's "
            "address",
            [
                build.consent_withdrawn(
                    source=RESIDENT_APP, resident=c, authority=WIRRAL, attributes="all", now=now
                ),
                build.consent_withdrawn(
                    source=RESIDENT_APP, resident=c, authority=SEFTON, attributes="all", now=now
                ),
                _verified(
                    schemas.source_of_authority(LIVERPOOL),
                    c,
                    "address",
                    _address("38099876", "9 Bold Street", "Liverpool", "L1 4DN", LIVERPOOL),
                    "high",
                    "electoral_register",
                    earlier + dt.timedelta(hours=1),
                    now,
                ),
            ],
        )
    )
    return s


def expected_holdings(s: Story, now: dt.datetime) -> dict[str, dict[tuple[str, str], str]]:
    """What each authority may hold at the end of the story: the core's word."""
    events = [event for _, step in s.steps for event in step]
    return holdings_by_core(s.subscriptions, events, now, AUTHORITIES)


def holdings_by_core(
    subscriptions: Iterable[schemas.Event],
    events: Iterable[schemas.Event],
    now: dt.datetime,
    authorities: Iterable[str],
) -> dict[str, dict[tuple[str, str], str]]:
    """What each authority may hold once ``events`` are decided in order, by (local reference,
    attribute): the claim id, as the pure core decides it, with no worker involved."""
    changes = [codec.to_fact(e) for e in subscriptions]
    directory: Directory = apply_all(c for c in changes if isinstance(c, SubscriptionChange))
    per_resident: dict[str, list[object]] = defaultdict(list)
    for event in events:
        per_resident[event.subject or ""].append(codec.to_fact(event))
    held: dict[str, dict[tuple[str, str], str]] = {a: {} for a in authorities}
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
    _print_decisions(console, s, audit)
    console.rule("Each authority's own database (reference subscriber, SQLite)")
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


def _print_decisions(console: Console, s: Story, audit: list[schemas.AuditRecorded]) -> None:
    console.rule("Who got what, and what was withheld and why")
    for authority in AUTHORITIES:
        table = Table(title=f"{NAMES[authority]} ({authority})", title_justify="left")
        for column in ("resident", "attribute", "decision", "reason", "claim", "assurance"):
            table.add_column(column)
        for record in sorted(audit, key=lambda r: r.time):
            data = record.data
            if data.authority != authority or data.decision not in (
                "delivered",
                "withheld",
                "consent_ended",
            ):
                continue
            table.add_row(
                s.residents.get(record.subject, record.subject[:8]),
                str(data.attribute or ""),
                str(data.decision),
                data.reason or "",
                (data.claim_id or "")[:8],
                str(data.assurance or ""),
            )
        console.print(table)
    refused = Table(title="Refused: who may say what", title_justify="left")
    for column in ("resident", "event", "source", "reason"):
        refused.add_column(column)
    for record in audit:
        if record.data.decision == "rejected":
            refused.add_row(
                s.residents.get(record.subject, record.subject[:8]),
                record.data.event_type.removeprefix("uk.gov.rps."),
                record.data.event_source,
                record.data.reason or "",
            )
    console.print(refused)
