"""A council's PostgreSQL stopped under a running ``rps subscribe`` and started again: the
subscriber retries with backoff instead of giving up, and afterwards every delivery is applied
once, the newest version of each value is held, and each is acknowledged once.

The database is a throwaway cluster of this test's own (free port, private state directory),
so stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from consumers.subscriber import history, holdings
from infra import postgres
from rps.settings import Settings
from schemas import DeliveryApplied, decode
from tests.faults.conftest import Report, start_subscriber
from tests.integration.consumers.conftest import KafkaIO, kafka_io

__all__ = ["kafka_io"]
from tests.integration.producers.test_gateway_process import free_port
from tests.unit.consumers.events import AUTHORITY, profile_updated

pytestmark = [pytest.mark.integration]

REFERENCES = [f"LCC-{n:03d}" for n in range(8)]
VERSIONS = {"before": range(1, 4), "during": range(4, 7), "after": range(7, 10)}


@pytest.fixture
async def private_postgres(settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for a PostgreSQL cluster of this test's own, started; stopped and removed after."""
    own = settings.model_copy(
        update={"state_dir": tmp_path / "pg-state", "postgres_port": free_port()}
    )
    await postgres.start(own)
    try:
        yield own
    finally:
        await asyncio.to_thread(postgres.pg_stop, own)
        paths = postgres.PostgresPaths.of(own)
        await asyncio.to_thread(shutil.rmtree, paths.cluster, True)


async def _produce(kafka_io: KafkaIO, phase: str) -> None:
    topic = kafka_io.topics.deliveries(AUTHORITY)
    for n, reference in enumerate(REFERENCES):
        await kafka_io.produce(
            topic,
            [
                profile_updated(v, f"r{n}v{v}@example.org", attribute="email", reference=reference)
                for v in VERSIONS[phase]
            ],
            key=reference.encode(),
        )


async def test_a_database_outage_is_retried_and_loses_nothing(
    settings: Settings,
    kafka_io: KafkaIO,
    private_postgres: Settings,
    report: Report,
    tmp_path: Path,
) -> None:
    url = postgres.local_url(private_postgres)
    await kafka_io.ready(AUTHORITY)
    # The default retry budget (about three minutes) rides out the outage.
    output = tmp_path / "subscriber.log"
    subscriber = await start_subscriber(settings, AUTHORITY, url, output)

    async def applied(count: int, wait: float = 120) -> int:
        deadline = time.monotonic() + wait
        while True:
            assert subscriber.returncode is None, "the subscriber gave up"
            try:
                done = len(await history(url))
            except Exception:  # the database is away, or not migrated yet
                done = -1
            if done >= count or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.5)

    try:
        await _produce(kafka_io, "before")
        per_phase = len(REFERENCES) * 3
        assert await applied(per_phase) == per_phase
        stopped = time.monotonic()
        await asyncio.to_thread(postgres.pg_stop, private_postgres)
        await _produce(kafka_io, "during")
        await asyncio.sleep(8)  # the subscriber keeps retrying the batch it holds
        assert subscriber.returncode is None, "the subscriber gave up during the outage"
        await postgres.start(private_postgres)
        outage = time.monotonic() - stopped
        await _produce(kafka_io, "after")
        assert await applied(3 * per_phase) == 3 * per_phase
        assert subscriber.returncode is None
    finally:
        if subscriber.returncode is None:
            subscriber.terminate()
            await subscriber.wait()

    retries = (await asyncio.to_thread(output.read_text)).count("database unavailable")
    entries = await history(url)
    decisions = Counter(e.decision_id for e in entries)
    held = {(h.local_reference, h.attribute): h.version for h in await holdings(url)}
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    acked = Counter(a.data.decision_id for a in acks if isinstance(a, DeliveryApplied))
    report(
        {
            "deliveries": 3 * len(REFERENCES) * 3,
            "applied": len(entries),
            "outage_seconds": round(outage, 1),
            "applied_twice": sum(1 for n in decisions.values() if n > 1),
            "acknowledged": len(acked),
            "retries_logged": retries,
        }
    )
    assert retries > 0, "the outage never reached the subscriber: the test proved nothing"
    assert len(decisions) == 3 * len(REFERENCES) * 3
    assert max(decisions.values()) == 1
    assert held == {(reference, "email"): 9 for reference in REFERENCES}
    assert acked.keys() == decisions.keys()
