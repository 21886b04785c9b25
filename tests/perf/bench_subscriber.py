"""Throughput of the reference subscriber alone, against the local Kafka and PostgreSQL.

Synthetic deliveries wait on an authority's topic (updates of address and email,
cleared values, consent endings and redeliveries, for ``deliveries / 3``
residents, each under a reference of its own); the subscriber drains them
(``stop_at_end``, joining the group included) into a fresh SQLite file, then
into a fresh PostgreSQL database. For each: deliveries a second, and the
process's CPU time per delivery (the steadier figure on a shared machine). The
performance suite measures the same way on the worker's real deliveries
(:func:`rates`). Asserts nothing about time; not part of ``make test``::

    .venv/bin/python -m tests.perf.bench_subscriber                        # 10,000 deliveries
    .venv/bin/python -m tests.perf.bench_subscriber --deliveries 100000
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

import infra
from consumers.errors import ConsumerError
from consumers.subscriber import subscribe
from rps.logs import configure
from rps.settings import Settings
from schemas.topics import Topics
from tests.databases import scratch_database
from tests.perf import broker
from tests.unit.consumers.events import address, consent_ended, profile_updated

AUTHORITY = "urn:org:bench"


def deliveries(count: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """``count`` deliveries as (key, value), in the order the hub would decide them."""
    rng = random.Random(seed)
    subjects = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(max(1, count // 3))]
    versions = dict.fromkeys(subjects, 0)
    made: list[tuple[bytes, bytes]] = []
    while len(made) < count:
        subject = rng.choice(subjects)
        versions[subject] += 1
        version, who = versions[subject], {"subject": subject, "authority": AUTHORITY}
        reference = f"REF-{subject[:13]}"
        roll = rng.random()
        if roll < 0.05:
            attributes = rng.sample(["address", "email"], rng.randint(1, 2))
            value = consent_ended(version, attributes, reference=reference, **who)
        elif roll < 0.10:
            value = profile_updated(version, None, attribute="email", reference=reference, **who)
        elif roll < 0.55:
            value = profile_updated(version, address(f"Flat {version}"), reference=reference, **who)
        else:
            email = f"r{version}@example.org"
            value = profile_updated(version, email, attribute="email", reference=reference, **who)
        made.append((subject.encode(), value))
        if rng.random() < 0.03:  # a redelivery
            made.append(made[rng.randrange(len(made))])
    return made[:count]


async def produce(settings: Settings, authority: str, records: list[tuple[bytes, bytes]]) -> None:
    """Send ``records`` to the authority's delivery topic, waiting for every one."""
    topic = Topics(settings.topic_prefix).deliveries(authority)
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def rates(
    settings: Settings, authority: str, base: Settings, profiles: Path | None = None
) -> dict[str, Any]:
    """Drain what waits on ``authority``'s topic into a fresh SQLite file (under the state
    directory) and a fresh PostgreSQL database (on ``base``'s server): for each, records, time,
    rate and CPU per record; with ``profiles``, each run under cProfile, written there."""
    results: dict[str, Any] = {}
    async with scratch_database(infra.local_url(base), "perf") as postgresql:
        sqlite = settings.state_dir / f"subscriber-{uuid.uuid4().hex[:12]}.db"
        for kind, url in (
            ("sqlite", f"sqlite+aiosqlite:///{sqlite}"),
            ("postgresql", postgresql),
        ):
            stem = profiles / f"subscriber-{kind}" if profiles else None
            try:
                results[kind] = await _drain(settings, authority, url, stem)
            except ConsumerError as error:  # reported, so the other figures survive
                results[kind] = {"error": type(error).__name__}
    return results


async def _drain(settings: Settings, authority: str, url: str, stem: Path | None) -> dict[str, Any]:
    profiler = cProfile.Profile() if stem else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    try:
        stats = await subscribe(settings, authority, url, stop_at_end=True)
    finally:
        if profiler:
            profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler and stem:
        _write_profile(profiler, stem)
    return {
        "records": stats.records,
        "written": stats.written,
        "batches": stats.batches,
        "seconds": round(seconds, 2),
        "records_per_second": round(stats.records / seconds, 1),
        "cpu_us_per_record": round(cpu / max(stats.records, 1) * 1e6, 1),
    }


def _write_profile(profiler: cProfile.Profile, stem: Path) -> None:
    """``<stem>.pstats`` (for snakeviz or ``pstats``) and ``<stem>.txt``: the 40 costliest
    functions by cumulative and by own time."""
    profiler.dump_stats(stem.with_suffix(".pstats"))
    out = io.StringIO()
    for order in ("cumulative", "tottime"):
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(40)
    stem.with_suffix(".txt").write_text(out.getvalue())


async def measure(base: Settings, count: int, scratch: Path) -> dict[str, Any]:
    """The figures for ``count`` synthetic deliveries on fresh topics."""
    settings = base.model_copy(
        update={"topic_prefix": f"perfsub{uuid.uuid4().hex[:8]}", "state_dir": scratch}
    )
    await infra.ensure_topics(settings)
    await infra.ensure_delivery_topic(settings, AUTHORITY)
    try:
        await produce(settings, AUTHORITY, deliveries(count))
        return {"deliveries": count, **await rates(settings, AUTHORITY, base)}
    finally:  # a shared broker holds only so many partitions
        await broker.delete_prefixed(base, settings.topic_prefix)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    options = parser.parse_args(argv)
    configure(level="warning")
    with tempfile.TemporaryDirectory(prefix="rps-bench-subscriber-") as scratch:
        figures = asyncio.run(measure(Settings(), options.deliveries, Path(scratch)))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
