"""Events per second through ``rps replay``, against the local Kafka.

Creates fresh topics under a unique prefix, writes verified-attribute and
consent events for 10,000 residents (100,000 events by default) to the facts
log as the worker logs them (each sealed under its resident's data key, from
a key store in a temporary SQLite database), then runs ``rps replay`` as a
real process and prints what it printed (the rate is measured by the
command's own progress bar). No worker runs, so every resident "differs" from
the empty live state: the command reads, opens, decodes, folds and compares
every record all the same. Prints figures; asserts nothing about time::

    .venv/bin/python tests/perf/bench_replay.py                 # 100,000 events
    .venv/bin/python tests/perf/bench_replay.py --events 20000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

import infra
import schemas
from cli.spawn import environment
from producers import events as build
from rps.keystore import SqlKeyStore
from rps.settings import Settings
from schemas.topics import Topics
from streams.worker import facts_log


async def publish(settings: Settings, count: int, residents: int) -> None:
    """Log ``count`` events, one in ten a consent, keyed by resident, sealed as the worker
    seals them."""
    topics = Topics(settings.topic_prefix)
    people = [str(uuid.uuid4()) for _ in range(residents)]
    now = dt.datetime.now(dt.UTC)
    store = await SqlKeyStore.open(settings)
    keys = {resident: await store.get_or_create(resident) for resident in people}
    await store.close()
    producer = AIOKafkaProducer(linger_ms=20, acks=1, **settings.kafka_client_options())
    await producer.start()
    try:
        for n in range(count):
            resident = people[n % residents]
            if n % 10 == 9:
                event: schemas.Event = build.consent_granted(
                    source="urn:org:rps-resident-app",
                    resident=resident,
                    authority="E08000015",
                    attributes=["email", "address"],
                    purpose="tell_us_once",
                    local_reference=f"W{n}",
                    now=now - dt.timedelta(seconds=count - n),
                )
                topic = topics.consents
            else:
                event = build.verified(
                    source="urn:gss:E08000012",
                    resident=resident,
                    attribute="email",
                    value=f"person{n}@example.org",
                    assurance="medium",
                    method="confirmation_link",
                    verified_at=now - dt.timedelta(seconds=count - n),
                    now=now,
                )
                topic = topics.attributes
            headers = [schemas.CONTENT_TYPE_HEADER]
            read = facts_log.Original(
                topic, 0, n, resident.encode(), schemas.encode(event), headers, now.timestamp()
            )
            logged = facts_log.recorded(read, event.id, resident, keys[resident], now)
            await producer.send(topics.facts, logged, key=resident.encode())
        await producer.flush()
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--residents", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rps-bench-replay-"))
    settings = Settings(
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}",
        database_url=SecretStr(f"sqlite+aiosqlite:///{folder / 'hub.db'}"),
        trust="off",  # the events are unsigned: enforced, every one would be refused unfolded
    )
    asyncio.run(infra.ensure_topics(settings))
    started = time.perf_counter()
    asyncio.run(publish(settings, args.events, args.residents))
    print(f"published {args.events:,} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    ran = subprocess.run(
        [sys.executable, "-m", "cli", "replay"],
        env=environment(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    summary = ran.stdout.splitlines()[0] if ran.stdout else ran.stderr[-500:]
    print(f"rps replay (exit {ran.returncode}, {elapsed:.1f} s wall, start-up included):")
    print(f"  {summary}")
    print(f"  {args.events / elapsed:,.0f} events/s over the whole command")


if __name__ == "__main__":
    main()
