"""A broker of a three-broker cluster killed with SIGKILL mid-run, under a worker, a subscriber
and a gateway running as real processes, then started again: with replication factor 3 and
min.insync.replicas 2, nothing the gateway acknowledged is lost, nothing takes effect twice,
the council's database holds what the merge rule says, replay finds live equal to rebuilt, and
the time from the kill until a claim sent after it is held by the council is recorded.

The cluster is this test's own (free ports, a private state directory), started for it and
stopped after it, so it never disturbs the shared broker. Slow: `make faults` runs it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr

import infra
import schemas
from cli.spawn import start_worker, stop_worker
from infra import cluster
from producers import Publisher
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators import replay
from tests.conftest import read_records
from tests.faults.conftest import Report, start_subscriber, started_gateway
from tests.faults.test_broker_restart import _newest, _until_held
from tests.faults.test_kafka_hostile import INPUT_DECISIONS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WIRRAL = "E08000015"
RESIDENTS = 12
BEFORE, DURING, AFTER = 3, 3, 2  # claims per resident in each phase
BROKERS = 3


def _two_free_ports_apart(count: int) -> tuple[int, int]:
    """A client and a controller base port with ``count`` nodes' ports (in twos) all free."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + 2 * count + 1 > 65535:
            continue
        wanted = [base + n for n in range(2 * count)]
        if all(_free(port) for port in wanted):
            return base, base + 1
    raise RuntimeError("no free run of ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
async def three_brokers(tmp_path: Path) -> AsyncIterator[Settings]:
    """A three-broker cluster of this test's own, running; stopped afterwards (the shared
    broker is neither needed nor touched)."""
    port, controller = _two_free_ports_apart(BROKERS)
    base = Settings().model_copy(
        update={
            "state_dir": tmp_path / "state",
            "kafka_port": port,
            "kafka_controller_port": controller,
            "kafka_heap": "384m",
            "topic_prefix": "cluster",
            "partitions": 4,
            "replication_factor": 3,
            "expiry_tick_seconds": 0.5,
            "producer_send_timeout_seconds": 10.0,
            "gateway_retry_after_seconds": 1,
            # Unsigned events, as in the shared settings fixture (tests/conftest.py).
            "trust": "off",
            "database_url": SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"),
        }
    )
    settings = base.model_copy(update={"bootstrap_servers": cluster.bootstrap(base, BROKERS)})
    try:
        await cluster.start(settings, BROKERS)
        yield settings
    finally:
        await asyncio.to_thread(cluster.stop, settings, BROKERS)


async def _leader_of_most(settings: Settings, topic: str) -> int:
    """The node that leads most partitions of ``topic``."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    leaders = Counter(int(p["leader"]) for p in described["partitions"])
    return leaders.most_common(1)[0][0]


async def test_a_killed_broker_of_three_loses_nothing_and_doubles_nothing(
    three_brokers: Settings, tmp_path: Path, report: Report
) -> None:
    """SIGKILL the broker leading most inbound partitions mid-run and start it again: every
    accepted claim decided once, the council holds the newest of each, replay equals live."""
    settings = three_brokers
    topics = Topics(settings.topic_prefix)
    await infra.ensure_topics(settings)

    residents = [str(uuid.uuid4()) for _ in range(RESIDENTS)]
    council = Publisher(settings, source=schemas.source_of_authority(WIRRAL))
    await council.start()
    await council.change_subscription(authority=WIRRAL, attribute="email", minimum_assurance="low")
    await council.close()
    app = Publisher(settings, source="urn:org:rps-resident-app")
    await app.start()
    for n, resident in enumerate(residents):
        await app.grant_consent(resident, WIRRAL, ["email"], "tell_us_once", f"WIR-{n}")
    await app.close()

    worker = start_worker(settings, tmp_path / "worker.log")
    db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    subscriber = await start_subscriber(settings, WIRRAL, db, tmp_path / "subscriber.log")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    accepted: dict[str, tuple[str, dt.datetime]] = {}
    refused = 0
    clock = iter(start + dt.timedelta(seconds=n) for n in range(10_000))
    try:
        async with (
            started_gateway(settings, tmp_path / "gateway.log") as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=60) as client,
        ):

            async def claim(resident: str) -> httpx.Response:
                """Post one email claim, resent with the same id after each 503."""
                nonlocal refused
                at = next(clock)
                document = {
                    "id": str(uuid.uuid4()),
                    "resident": resident,
                    "attribute": "email",
                    "value": f"{uuid.uuid4().hex[:10]}@example.org",
                    "assurance": "low",
                    "method": "council_tax_record",
                    "verified_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
                for _ in range(240):
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
                    if response.status_code != 503:
                        return response
                    refused += 1
                    await asyncio.sleep(0.5)
                return response

            for _ in range(BEFORE):
                for resident in residents:
                    assert (await claim(resident)).status_code == 202
            await _until_held(db, _newest(accepted, residents), worker, subscriber)

            victim = await _leader_of_most(settings, topics.attributes)
            killed_at = time.monotonic()
            await asyncio.to_thread(cluster.kill, settings, victim, BROKERS)
            for _ in range(DURING):  # sent while one broker of three is dead
                for resident in residents:
                    assert (await claim(resident)).status_code == 202
            await _until_held(db, _newest(accepted, residents), worker, subscriber)
            recovered = time.monotonic() - killed_at
            await cluster.start_node(settings, victim, BROKERS)
            back_at = time.monotonic() - killed_at
            for _ in range(AFTER):
                for resident in residents:
                    assert (await claim(resident)).status_code == 202

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
            "brokers": BROKERS,
            "killed_node": victim,
            "accepted_by_gateway": len(accepted),
            "refused_503_then_resent": refused,
            "seconds_from_kill_to_claims_held": round(recovered, 1),
            "seconds_from_kill_to_node_back": round(back_at, 1),
            "events_lost": len(lost),
            "duplicate_effects": len(twice),
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
