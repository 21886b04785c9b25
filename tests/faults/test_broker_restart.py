"""Kafka stopped and started again in the middle of a run, with a worker, a subscriber and a
gateway running as real processes against it: the gateway answers 503 with Retry-After while
Kafka is away and accepts again after; every process recovers by itself; nothing the gateway
acknowledged is lost, nothing takes effect twice, the council's database holds what the merge
rule says, and replay finds live equal to rebuilt.

The broker is a throwaway one of this test's own (free ports, private state directory), so
stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import infra
import schemas
from cli.spawn import start_worker, stop_worker
from consumers._repository import Holding
from consumers.subscriber import holdings
from infra import kafka
from producers import Publisher
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators import replay
from tests.conftest import read_records
from tests.faults.conftest import Report, start_subscriber, started_gateway
from tests.faults.test_kafka_hostile import INPUT_DECISIONS
from tests.integration.producers.test_gateway_process import private_kafka

__all__ = ["private_kafka"]

pytestmark = [pytest.mark.integration]

WIRRAL = "E08000015"
RESIDENTS = 12
BEFORE, DURING, AFTER = 3, 2, 3  # claims per resident in each phase


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_a_broker_restart_mid_run_loses_nothing_and_every_process_recovers(
    private_kafka: Settings, tmp_path: Path, report: Report
) -> None:
    settings = private_kafka.model_copy(
        update={"partitions": 4, "expiry_tick_seconds": 0.5, "producer_send_timeout_seconds": 5.0}
    )
    topics = Topics(settings.topic_prefix)
    await kafka.start(settings)
    await infra.ensure_topics(settings)

    residents = [str(uuid.uuid4()) for _ in range(RESIDENTS)]
    publisher = Publisher(settings)
    await publisher.start()
    try:
        council = Publisher(settings, source=schemas.source_of_authority(WIRRAL))
        await council.start()
        await council.change_subscription(
            authority=WIRRAL, attribute="email", minimum_assurance="low"
        )
        await council.close()
        app = Publisher(settings, source="urn:org:rps-resident-app")
        await app.start()
        for n, resident in enumerate(residents):
            await app.grant_consent(resident, WIRRAL, ["email"], "tell_us_once", f"WIR-{n}")
        await app.close()
    finally:
        await publisher.close()

    worker = start_worker(settings, tmp_path / "worker.log")
    db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    subscriber_log = tmp_path / "subscriber.log"
    subscriber = await start_subscriber(settings, WIRRAL, db, subscriber_log)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    accepted: dict[str, tuple[str, dt.datetime]] = {}  # claim id -> (resident, verified at)
    refused = 0
    clock = iter(start + dt.timedelta(seconds=n) for n in range(10_000))
    try:
        async with (
            started_gateway(settings, tmp_path / "gateway.log") as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=60) as client,
        ):

            async def claim(resident: str, *, retry: bool) -> httpx.Response:
                """Post one email claim; with ``retry``, resend it with the same id after
                each 503, as a client honouring Retry-After does."""
                nonlocal refused
                at = next(clock)
                document = {
                    "id": str(uuid.uuid4()),
                    "resident": resident,
                    "attribute": "email",
                    "value": f"{uuid.uuid4().hex[:10]}@example.org",
                    "assurance": "low",
                    "method": "council_tax_record",
                    "verified_at": _stamp(at),
                }
                for _ in range(120):
                    response = await client.post(
                        "/v1/events",
                        content=orjson.dumps(document),
                        headers={
                            "Authorization": f"Bearer {gateway.key}",
                            "Content-Type": "application/json",
                        },
                    )
                    if response.status_code == 202:
                        accepted[response.json()["id"]] = (resident, at)
                    if response.status_code != 503 or not retry:
                        return response
                    refused += 1
                    await asyncio.sleep(float(response.headers["retry-after"]) / 2)
                return response

            for _ in range(BEFORE):
                for resident in residents:
                    assert (await claim(resident, retry=False)).status_code == 202

            # Mid-run: the worker and the subscriber are up and have applied phase one.
            await _until_held(db, _newest(accepted, residents), worker, subscriber)
            stopped_at = time.monotonic()
            await asyncio.to_thread(kafka.stop, settings)
            during = await claim(residents[0], retry=False)
            assert during.status_code == 503, during.text
            assert int(during.headers["retry-after"]) > 0
            assert during.json()["type"] == "/problems/kafka-unavailable"
            await asyncio.sleep(5)
            restart = asyncio.create_task(kafka.start(settings))
            for _ in range(DURING):  # sent while the broker comes back: resent until accepted
                for resident in residents:
                    assert (await claim(resident, retry=True)).status_code == 202
            await restart
            outage = time.monotonic() - stopped_at
            for _ in range(AFTER):
                for resident in residents:
                    assert (await claim(resident, retry=True)).status_code == 202

        expected = _newest(accepted, residents)
        held = await _until_held(db, expected, worker, subscriber)
    finally:
        if subscriber.returncode is None:
            subscriber.terminate()
            await subscriber.wait()
        stop_worker(worker)

    audit = [
        a
        for a in (schemas.decode(r.value) for r in await read_records(settings, topics.audit))
        if isinstance(a, schemas.AuditRecorded)
    ]
    decided = Counter(
        a.data.event_id
        for a in {a.id: a for a in audit}.values()
        if a.data.event_id in accepted and a.data.decision in INPUT_DECISIONS
    )
    lost = accepted.keys() - decided.keys()
    twice = [i for i, n in decided.items() if n > 1]
    on_topic = Counter(
        schemas.decode(r.value).id for r in await read_records(settings, topics.attributes)
    )
    rebuilt = await replay.rebuild(settings)
    differing = replay.differences(rebuilt.states, await replay.live(settings))
    report(
        {
            "accepted_by_gateway": len(accepted),
            "refused_503_then_resent": refused,
            "outage_seconds": round(outage, 1),
            "events_lost": len(lost),
            "duplicate_effects": len(twice),
            "holdings_expected": len(expected),
            "holdings_differing": len(set(expected.items()) ^ set(held.items())),
            "replay_differences": len(differing),
        }
    )
    assert len(accepted) == RESIDENTS * (BEFORE + DURING + AFTER)
    assert not (accepted.keys() - on_topic.keys()), "an event the gateway accepted is not on Kafka"
    assert not lost, f"{len(lost)} accepted events were never decided"
    assert not twice, f"events decided more than once: {twice[:5]}"
    assert held == expected
    assert differing == []


def _newest(
    accepted: dict[str, tuple[str, dt.datetime]], residents: list[str]
) -> dict[tuple[str, str], str | None]:
    """The newest verified claim of each resident: the merge rule at equal assurance."""
    return {
        (f"WIR-{residents.index(resident)}", "email"): claim_id
        for claim_id, (resident, _) in sorted(accepted.items(), key=lambda kv: kv[1][1])
    }


async def _until_held(
    db: str,
    expected: dict[tuple[str, str], str | None],
    worker: Any,
    subscriber: asyncio.subprocess.Process,
    wait: float = 240,
) -> dict[tuple[str, str], str | None]:
    """Poll the council's database until it holds ``expected`` (or time runs out); fail at once
    if the worker or the subscriber exits instead of recovering."""
    deadline = time.monotonic() + wait
    while True:
        assert worker.poll() is None, "the worker exited instead of recovering"
        assert subscriber.returncode is None, "the subscriber exited instead of recovering"
        held = {(h.local_reference, h.attribute): h.claim_id for h in await _holdings_or_none(db)}
        if held == expected or time.monotonic() > deadline:
            return held
        await asyncio.sleep(1)


async def _holdings_or_none(db: str) -> list[Holding]:
    try:
        return list(await holdings(db))
    except Exception:  # the subscriber has not created its tables yet
        return []
