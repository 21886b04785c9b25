"""Fixtures for the operators' tests: the worker fixtures, a random scenario, the `rps` CLI."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import schemas
from cli.spawn import environment
from rps.settings import Settings
from schemas import strategies as events
from schemas.topics import Topics
from streams import replay
from tests.integration.streams.conftest import (  # noqa: F401  (the worker fixtures, shared)
    PublishAs,
    publish_as,
    worker_settings,
    workers,
)

AUTHORITIES = ("E08000012", "E08000015", "urn:org:dwp")
PUBLISHERS = ("urn:gss:E08000012", "urn:gss:E08000015", "urn:org:dwp", "urn:org:gro")
ATTRIBUTES = (
    schemas.AttributeName("address"),
    schemas.AttributeName("email"),
    schemas.AttributeName("date_of_death"),
)


@st.composite
def scenario(draw: st.DrawFn, people: list[str], size: int = 25) -> list[schemas.Event]:
    """Claims, retractions of real claims, consents and withdrawals about a few residents,
    with some events repeated (redelivered by their publisher)."""
    out: list[schemas.Event] = []
    claims: list[schemas.AttributeVerified] = []
    for _ in range(size):
        kind = draw(
            st.sampled_from(("claim", "claim", "claim", "retract", "grant", "withdraw", "again"))
        )
        resident = draw(st.sampled_from(people))
        if kind == "retract" and claims:
            target = draw(st.sampled_from(claims))
            out.append(
                draw(
                    events.attribute_retracted(
                        resident=target.subject,
                        source=target.source,
                        claim_id=target.id,
                        attribute=target.data.attribute,
                    )
                )
            )
        elif kind == "grant":
            out.append(
                draw(
                    events.consent_granted(
                        resident=resident,
                        authority=draw(st.sampled_from(AUTHORITIES)),
                        attributes=list(ATTRIBUTES),
                        expiring=False,
                    )
                )
            )
        elif kind == "withdraw":
            out.append(
                draw(
                    events.consent_withdrawn(
                        resident=resident, authority=draw(st.sampled_from(AUTHORITIES))
                    )
                )
            )
        elif kind == "again" and out:
            out.append(draw(st.sampled_from(out)))
        else:
            claim = draw(
                events.attribute_verified(
                    resident=resident,
                    source=draw(st.sampled_from(PUBLISHERS)),
                    attribute=draw(st.sampled_from(ATTRIBUTES)),
                )
            )
            claims.append(claim)
            out.append(claim)
    return out


def draw_scenario(
    size: int = 300, residents: int = 12, *, fresh: set[str] | frozenset[str] = frozenset()
) -> list[schemas.Event]:
    """A long scenario drawn by hypothesis, in chunks of 25 events about the same residents
    (generation only: hypothesis's buffer holds a chunk, not hundreds of events).

    Each call draws from a seed of its own, printed so a failing run can be drawn again
    (``RPS_TEST_SCENARIO_SEED``). Hypothesis's "ci" profile, loaded wherever ``CI`` is set,
    derandomizes every ``@given`` by its function: left to it, two calls in one test drew the
    same events, ids included. Events whose id is in ``fresh`` (ids a test has already used)
    are left out."""
    drawn: list[list[schemas.Event]] = []
    people = [str(uuid.uuid4()) for _ in range(residents)]
    chosen = int(os.environ.get("RPS_TEST_SCENARIO_SEED") or random.getrandbits(64))
    print(f"scenario seed {chosen}")

    @seed(chosen)
    @given(scenario(people))
    @hypothesis_settings(
        max_examples=-(-size // 25),
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def keep(value: list[schemas.Event]) -> None:
        drawn.append(value)

    keep()
    # Hypothesis likes short ids, so chunks may reuse one for other content; an id reused so is
    # refused by the worker in whichever order it meets the two, which replay cannot know.
    first: dict[str, bytes] = {}
    kept = []
    for event in (event for chunk in drawn for event in chunk):
        if event.id in fresh:
            continue
        if first.setdefault(event.id, schemas.encode(event)) == schemas.encode(event):
            kept.append(event)
    return kept


async def publish_raw(settings: Settings, items: list[schemas.Event]) -> None:
    """Send events as a publisher would (keyed by resident) to the topic their type belongs on."""
    topics = Topics(settings.topic_prefix)
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        for event in items:
            topic = (
                topics.attributes
                if isinstance(event, schemas.AttributeVerified | schemas.AttributeRetracted)
                else topics.consents
            )
            await producer.send(topic, schemas.encode(event), key=(event.subject or "").encode())
        await producer.flush()
    finally:
        await producer.stop()


async def subscribe_all(publish: PublishAs) -> None:
    """Every test authority subscribes to every scenario attribute at low assurance."""
    for authority in AUTHORITIES:
        publisher = await publish(schemas.source_of_authority(authority))
        for attribute in ATTRIBUTES:
            await publisher.change_subscription(
                authority=authority, attribute=attribute, minimum_assurance="low"
            )


def decided(ids: set[str]) -> Callable[[list[schemas.AuditRecorded]], bool]:
    """A predicate: every one of ``ids`` has an audit record of its own."""
    return lambda records: ids <= {r.data.event_id for r in records}


async def settled(settings: Settings, attempts: int = 60) -> replay.Comparison:
    """Compare until live has caught up with the inbound topics (or attempts run out)."""
    for _ in range(attempts):
        found = await replay.compare(settings)
        if not found.differing:
            return found
        await asyncio.sleep(1)
    return found


@dataclass(frozen=True, slots=True)
class Ran:
    """A finished `rps` command."""

    code: int
    out: str
    err: str


async def rps(settings: Settings, *args: str) -> Ran:
    """Run the real `rps` command line with environment built from ``settings``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        env=environment(settings, COLUMNS="200"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return Ran(process.returncode or 0, out.decode(), err.decode())
