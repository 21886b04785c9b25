"""Two workers, one of them killed with SIGKILL at seeded moments and started again, through a
long run: nothing accepted is lost, no decision takes effect twice, each council's database
holds what the pure core says it should, and replay finds live equal to rebuilt.

The short run (1,500 events, 3 kills) is part of ``make test``; the full run (100,000 events,
24 kills by default: ``RPS_KILL_EVENTS``, ``RPS_KILLS``) is marked ``slow`` and runs with
``make faults``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

import schemas
from cli._demo_checks import holdings_by_core
from consumers.subscriber import holdings, subscribe
from producers import Publisher
from producers import events as build
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators import replay
from streams.runtime.names import faust_id
from tests.conftest import read_records
from tests.faults.conftest import Report
from tests.faults.test_kafka_hostile import INPUT_DECISIONS
from tests.integration.operators.conftest import publish_raw
from tests.integration.streams.conftest import Workers

pytestmark = [pytest.mark.integration]

LIVERPOOL = "urn:gss:E08000012"
APP = "urn:org:rps-resident-app"
WIRRAL, DWP = "E08000015", "urn:org:dwp"
SUBSCRIPTIONS = ((WIRRAL, "address", "medium"), (WIRRAL, "email", "low"), (DWP, "address", "high"))


@dataclass(frozen=True, slots=True)
class Run:
    seed: int
    events: int
    kills: int


def _full() -> Run:
    return Run(
        2026,
        int(os.environ.get("RPS_KILL_EVENTS", "100000")),
        int(os.environ.get("RPS_KILLS", "24")),
    )


@pytest.fixture(
    params=[
        pytest.param(Run(11, 1_500, 3), id="short"),
        pytest.param(None, id="full", marks=pytest.mark.slow),
    ]
)
def run(request: pytest.FixtureRequest) -> Run:
    return request.param or _full()


def workload(seed: int, count: int, now: dt.datetime) -> list[schemas.Event]:
    """``count`` events in publish order: consents first for each resident, then a seeded mix
    of address claims (Liverpool), emails (the resident app), retractions of Liverpool's own
    claims and consent withdrawals and grants again."""
    rng = random.Random(seed)
    residents = [
        str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(max(20, count // 20))
    ]
    start = now - dt.timedelta(days=2)
    clock = iter(start + dt.timedelta(milliseconds=n) for n in range(10 * count))
    events: list[schemas.Event] = []
    claims: dict[str, list[str]] = defaultdict(list)
    granted: dict[str, bool] = {}

    def grant(resident: str, authority: str, ref: str, attributes: list[str]) -> schemas.Event:
        return build.consent_granted(
            source=APP,
            resident=resident,
            authority=authority,
            attributes=attributes,
            purpose="tell_us_once",
            local_reference=ref,
            now=next(clock),
        )

    for n, resident in enumerate(residents):
        if len(events) + 2 > count:
            break
        events.append(grant(resident, WIRRAL, f"W{n}", ["address", "email"]))
        events.append(grant(resident, DWP, f"D{n}", ["address"]))
        granted[resident] = True
    while len(events) < count:
        n = rng.randrange(len(residents))
        resident = residents[n]
        roll = rng.random()
        at = next(clock)
        if roll < 0.6:
            event: schemas.Event = build.verified(
                source=LIVERPOOL,
                resident=resident,
                attribute="address",
                value={
                    "uprn": str(rng.randrange(1, 10**12)),
                    "lines": [f"{rng.randrange(1, 300)} Dale Street"],
                    "town": "Liverpool",
                    "postcode": "L2 2DH",
                    "local_authority": "E08000012",
                },
                assurance=rng.choice(["medium", "high"]),
                method="council_tax_record",
                verified_at=at,
                now=at,
            )
            claims[resident].append(event.id)
        elif roll < 0.85:
            event = build.verified(
                source=APP,
                resident=resident,
                attribute="email",
                value=f"r{n}.{rng.randrange(10**6)}@example.org",
                assurance="low",
                method="self_declared",
                verified_at=at,
                now=at,
            )
        elif roll < 0.95 and claims[resident]:
            event = build.retracted(
                source=LIVERPOOL,
                resident=resident,
                claim_id=claims[resident].pop(rng.randrange(len(claims[resident]))),
                attribute="address",
                reason="reported_in_error",
                now=at,
            )
        elif granted.get(resident):
            event = build.consent_withdrawn(
                source=APP, resident=resident, authority=DWP, attributes="all", now=at
            )
            granted[resident] = False
        else:
            event = grant(resident, DWP, f"D{n}", ["address"])
            granted[resident] = True
        events.append(event)
    return events


async def inputs_settled(settings: Settings) -> tuple[int, int]:
    """(committed, end) summed over the worker group's input partitions."""
    topics = Topics(settings.topic_prefix)
    tps = [
        TopicPartition(topic, p)
        for topic in topics.worker_inputs
        for p in range(settings.partitions)
    ]
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    consumer = AIOKafkaConsumer(**settings.kafka_client_options())
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(faust_id(settings))
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    done = sum(min(committed[tp].offset, ends[tp]) if tp in committed else 0 for tp in tps)
    return done, sum(ends.values())


async def test_workers_killed_at_random_lose_nothing_and_apply_nothing_twice(
    run: Run,
    worker_settings: Settings,
    workers: Workers,
    report: Report,
    tmp_path: Path,
) -> None:
    settings = worker_settings
    topics = Topics(settings.topic_prefix)
    rng = random.Random(run.seed)
    now = dt.datetime.now(dt.UTC)
    subscriptions = [
        build.subscription_changed(
            source=schemas.source_of_authority(authority),
            authority=authority,
            attribute=attribute,
            minimum_assurance=level,
            active=True,
            now=now - dt.timedelta(days=3),
        )
        for authority, attribute, level in SUBSCRIPTIONS
    ]
    events = workload(run.seed, run.events, now)
    publisher = Publisher(settings)
    await publisher.start()
    try:
        for change in subscriptions:
            await publisher.publish(change)
    finally:
        await publisher.close()
    slots = [workers(), workers()]
    started = time.monotonic()

    async def publish() -> None:
        chunk = 250
        pace = max(0.05, (run.kills * 6.0) / max(1, len(events) / chunk))  # spread over the kills
        for n in range(0, len(events), chunk):
            await publish_raw(settings, events[n : n + chunk])
            await asyncio.sleep(pace)

    async def kill() -> int:
        done = 0
        for _ in range(run.kills):
            await asyncio.sleep(rng.uniform(3.0, 9.0))
            slot = rng.randrange(2)
            workers.check()
            workers.stop(slots[slot], kill=True)
            done += 1
            await asyncio.sleep(rng.uniform(0.2, 3.0))
            slots[slot] = workers()
        return done

    _, kills = await asyncio.gather(publish(), kill())
    wait = 240 + run.events / 50
    deadline = time.monotonic() + wait
    while True:
        workers.check()
        committed, end = await inputs_settled(settings)
        if committed >= end or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    elapsed = time.monotonic() - started
    assert committed >= end, f"{end - committed} inputs never settled within {wait:.0f} s"

    ids = {e.id for e in events}
    audit_records = await read_records(settings, topics.audit)
    audit = [
        a
        for a in (schemas.decode(r.value) for r in audit_records)
        if isinstance(a, schemas.AuditRecorded)
    ]
    retractions = {e.id for e in events if isinstance(e, schemas.AttributeRetracted)}
    decided = Counter(  # the first decision about each input; "retracted" for a retraction
        a.data.event_id
        for a in {a.id: a for a in audit}.values()  # an audit record resent byte for byte
        if a.data.event_id in ids
        and a.data.decision
        in ({"retracted"} if a.data.event_id in retractions else INPUT_DECISIONS)
    )
    lost = ids - decided.keys()
    twice = {i: n for i, n in decided.items() if n > 1}
    conflicting = 0
    for authority in (WIRRAL, DWP):
        contents: dict[str, set[bytes]] = defaultdict(set)
        for record in await read_records(settings, topics.deliveries(authority)):
            contents[schemas.decode(record.value).id].add(record.value)
        conflicting += sum(1 for values in contents.values() if len(values) > 1)

    expected = holdings_by_core(subscriptions, events, dt.datetime.now(dt.UTC), (WIRRAL, DWP))
    held: dict[str, dict[tuple[str, str], str | None]] = {}
    for authority in (WIRRAL, DWP):
        db = f"sqlite+aiosqlite:///{tmp_path / (authority.replace(':', '_') + '.db')}"
        await subscribe(settings, authority, db, stop_at_end=True)
        held[authority] = {(h.local_reference, h.attribute): h.claim_id for h in await holdings(db)}

    rebuilt = await replay.rebuild(settings)
    differing = replay.differences(rebuilt.states, await replay.live(settings))
    logs = [tmp_path / f"worker-{n}.log" for n in range(len(workers.processes))]
    guard_seeks = sum(
        p.read_text().count(m)
        for p in logs
        if p.is_file()
        for m in ("reading them again", "reading from the hole again")
    )
    report(
        {
            "seed": run.seed,
            "events": len(events),
            "kills": kills,
            "restarts": kills,
            "worker_processes": len(workers.processes),
            "events_lost": len(lost),
            "duplicate_effects": len(twice) + conflicting,
            "holdings_expected": {a: len(v) for a, v in expected.items()},
            "holdings_differing": {
                a: len(set(expected[a].items()) ^ set(held[a].items())) for a in expected
            },
            "replay_differences": len(differing),
            "stall_guard_seeks": guard_seeks,
            "wall_seconds": round(elapsed, 1),
        }
    )
    assert kills == run.kills
    assert not lost, f"{len(lost)} accepted events were never decided"
    assert not twice, f"events decided more than once: {list(twice)[:5]}"
    assert not conflicting, "one decision id was sent with two different contents"
    for authority in (WIRRAL, DWP):
        assert expected[authority], f"the core says {authority} holds nothing: a vacuous run"
        assert held[authority] == expected[authority], authority
    assert rebuilt.states
    assert differing == []
