"""`rps replay` against the real broker and a real worker: equal after a random scenario,
a planted difference found and named, `--rebuild` refused while a worker runs, then repairing."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiokafka import AIOKafkaProducer

from rps.settings import Settings
from streams.core import Claim, fold
from streams.operators import replay
from streams.runtime.names import changelog_topic
from streams.worker import stored
from tests.integration.operators.conftest import (
    decided,
    draw_scenario,
    publish_raw,
    rps,
    settled,
    subscribe_all,
)
from tests.integration.streams.conftest import PublishAs, Workers, audit_until


async def _run_scenario(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs, size: int
) -> set[str]:
    workers()
    await subscribe_all(publish_as)
    items = draw_scenario(size)
    await publish_raw(worker_settings, items)
    ids = {e.id for e in items}
    audit = await audit_until(worker_settings, decided(ids), workers, wait=180)
    assert ids <= {r.data.event_id for r in audit}
    return {e.subject or "" for e in items}


async def test_replay_equals_live_after_a_long_random_scenario(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """After hundreds of random claims, retractions, consents and repeats, replay equals live."""
    residents = await _run_scenario(worker_settings, workers, publish_as, 400)
    found = await settled(worker_settings)
    assert found.differing == []
    assert found.differing_partitions == []
    assert found.residents == len(residents)
    assert found.events >= 300
    ran = await rps(worker_settings, "replay")
    assert ran.code == 0, ran.err
    assert "replay equals live" in ran.out
    assert f"compared {len(residents)} residents" in ran.out


async def test_replay_names_a_planted_difference_and_rebuild_repairs_it(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """A tampered live profile is reported by resident id (exit 1); `--rebuild` is refused while
    the worker runs and, once it is stopped, makes live equal to the replay again."""
    await _run_scenario(worker_settings, workers, publish_as, 120)
    assert (await settled(worker_settings)).differing == []
    latest = await replay._latest(worker_settings)
    victim = sorted(latest)[0]
    raw, partition = latest[victim]
    profile = stored.decode_profile(raw)
    planted = Claim(
        "planted-claim-id",
        victim,
        "email",
        "planted@example.org",
        1,
        "urn:org:dwp",
        "typed",
        profile.state.claims[next(iter(profile.state.claims))].verified_at
        if profile.state.claims
        else dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "0" * 32,
    )
    tampered = stored.encode_profile(
        type(profile)(victim, fold(profile.state, planted), profile.holdings, profile.sequence)
    )
    producer = AIOKafkaProducer(acks="all", **worker_settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(
            changelog_topic(worker_settings), tampered, victim.encode(), partition=partition
        )
    finally:
        await producer.stop()

    ran = await rps(worker_settings, "replay")
    assert ran.code == 1
    assert f"differs: resident {victim}" in ran.out
    assert "planted" not in ran.out + ran.err

    refused = await rps(worker_settings, "replay", "--rebuild")
    assert refused.code == 2
    assert "active members" in refused.err

    for process in workers.processes:
        workers.stop(process)
    for _ in range(60):  # the broker notes the stopped worker's leaving
        if not await replay.active_members(worker_settings):
            break
        await asyncio.sleep(1)
    rebuilt = await rps(worker_settings, "replay", "--rebuild")
    assert rebuilt.code == 0, rebuilt.err
    assert "rebuilt: 1 changelog records written" in rebuilt.out
    again = await rps(worker_settings, "replay")
    assert again.code == 0, again.out + again.err
    repaired = (await replay._latest(worker_settings))[victim][0]
    assert b"planted-claim-id" not in repaired
    assert stored.decode_profile(repaired).holdings == profile.holdings  # holdings kept
