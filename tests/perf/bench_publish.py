"""Events per second through ``rps publish`` and through the HTTP gateway, against the local Kafka.

Generates a file of verified-attribute CloudEvents, creates fresh topics under
a unique prefix, then:

1. runs ``rps publish FILE`` as a real process;
2. starts ``rps gateway`` as a real process, issues an API key, and posts the
   same events in batches (``POST /v1/events/batch``) and one by one
   (``POST /v1/events``) from concurrent clients;

and checks each time that every event reached the attributes topic. Prints the
figures; asserts nothing about time. Not part of ``make test``::

    .venv/bin/python tests/perf/bench_publish.py            # 100,000 events
    .venv/bin/python tests/perf/bench_publish.py --events 20000 --single 5000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rps.settings import Settings
from schemas.topics import Topics

SOURCE = "urn:gss:E08000012"
RPS = str(Path(sys.executable).with_name("rps"))


def generate(path: Path, count: int, *, seed: int = 7) -> None:
    """``count`` valid attribute.verified events, one a line, for count // 4 residents."""
    rng = random.Random(seed)
    residents = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count // 4 + 1)]
    verified_at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("wb") as out:
        for n in range(count):
            resident = rng.choice(residents)
            kind = n % 3
            if kind == 0:
                data = {
                    "attribute": "address",
                    "value": {
                        "uprn": str(rng.randint(1, 10**11)),
                        "lines": [f"{rng.randint(1, 300)} Example Street"],
                        "town": "Liverpool",
                        "postcode": "L1 8JQ",
                        "local_authority": "E08000012",
                    },
                    "assurance": "medium",
                    "method": "council_tax_record",
                }
            elif kind == 1:
                data = {
                    "attribute": "email",
                    "value": f"resident{n}@example.com",
                    "assurance": "low",
                    "method": "self_asserted",
                }
            else:
                data = {
                    "attribute": "phone",
                    "value": f"+447700{rng.randint(100000, 999999)}",
                    "assurance": "low",
                    "method": "sms_one_time_code",
                }
            event = {
                "specversion": "1.0",
                "id": f"bench-{n:07d}",
                "source": SOURCE,
                "type": "uk.gov.rps.attribute.verified.v1",
                "subject": resident,
                "time": verified_at,
                "datacontenttype": "application/json",
                "data": {**data, "verified_at": verified_at},
            }
            out.write(orjson.dumps(event) + b"\n")


async def create_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        specs = Topics(settings.topic_prefix).fixed()
        await admin.create_topics(
            [
                NewTopic(spec.name, settings.partitions, settings.replication_factor)
                for spec in specs
            ]
        )
    finally:
        await admin.close()


async def count_on_topic(settings: Settings, topic: str) -> int:
    """How many records the topic holds (sum of end offsets; fresh topics start at 0)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        await consumer.stop()
    return sum(ends.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bench_cli(path: Path, count: int, env: dict[str, str], settings: Settings) -> float:
    started = time.perf_counter()
    result = await asyncio.to_thread(
        subprocess.run,
        [RPS, "publish", str(path), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    print(f"  rps publish said: {result.stdout.strip()}")
    if result.returncode != 0:
        raise SystemExit(f"rps publish failed ({result.returncode}): {result.stderr[-2000:]}")
    reached = await count_on_topic(settings, Topics(settings.topic_prefix).attributes)
    print(f"  reached the topic: {reached} of {count}")
    return count / elapsed


async def post_all(
    url: str, key: str, bodies: list[bytes], path: str, concurrency: int
) -> tuple[float, int]:
    """Post every body from ``concurrency`` clients; (seconds, requests not answered 202).

    aiohttp drives the load: httpx's connection pool costs more CPU than the
    gateway itself at this rate, and the figure would measure the client.
    """
    pending = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:

        async def worker() -> None:
            nonlocal failures
            while pending:
                body = pending.pop()
                async with session.post(path, data=body, headers=headers) as response:
                    await response.read()
                    failures += response.status != 202

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, failures


async def bench_gateway(
    path: Path, count: int, single: int, env: dict[str, str], settings: Settings, batch: int
) -> tuple[float, float]:
    port = free_port()
    added = await asyncio.to_thread(
        subprocess.run,
        [RPS, "publishers", "add", SOURCE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = next(line.split()[-1] for line in added.stdout.splitlines() if line.startswith("key:"))
    gateway = await asyncio.create_subprocess_exec(
        RPS,
        "gateway",
        "--port",
        str(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(200):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        lines = (await asyncio.to_thread(path.read_bytes)).splitlines()
        topic = Topics(settings.topic_prefix).attributes
        before = await count_on_topic(settings, topic)
        bodies = [b"[" + b",".join(lines[i : i + batch]) + b"]" for i in range(0, count, batch)]
        seconds, failures = await post_all(url, key, bodies, "/v1/events/batch", 8)
        reached = await count_on_topic(settings, topic) - before
        print(f"  batches of {batch}: {failures} failed requests; reached the topic: {reached}")
        batch_rate = count / seconds
        before = await count_on_topic(settings, topic)
        seconds, failures = await post_all(url, key, lines[:single], "/v1/events", 64)
        reached = await count_on_topic(settings, topic) - before
        print(f"  one event a request: {failures} failed; reached the topic: {reached}")
        return batch_rate, single / seconds
    finally:
        gateway.terminate()
        await gateway.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--single", type=int, default=10_000, help="how many of them to send one a request"
    )
    parser.add_argument("--batch", type=int, default=500, help="events per batch request")
    args = parser.parse_args()
    count, single = args.events, min(args.single, args.events)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    base = Settings()
    settings = base.model_copy(update={"topic_prefix": prefix})
    await create_topics(settings)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "events.jsonl"
        generate(path, count)
        size = path.stat().st_size
        print(
            f"{count} events, {size / 1e6:.1f} MB, "
            f"topics {prefix}.*, Kafka {base.bootstrap_servers}"
        )
        env = {
            **os.environ,
            "RPS_TOPIC_PREFIX": prefix,
            "RPS_PUBLISHER_SOURCE": SOURCE,
            "RPS_DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/hub.db",
            "RPS_LOG_LEVEL": "warning",
        }
        print("rps publish:")
        cli_rate = await bench_cli(path, count, env, settings)
        print("gateway:")
        batch_rate, single_rate = await bench_gateway(
            path, count, single, env, settings, args.batch
        )
    print()
    print(f"rps publish (whole process, {count} events): {cli_rate:>9,.0f} events/s")
    print(f"gateway, batches of {args.batch} (8 clients):  {batch_rate:>9,.0f} events/s")
    print(
        f"gateway, one event a request (64 clients, {single} events): {single_rate:>9,.0f} events/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
