"""Throughput and latency of the webhook path, against the local Kafka and a loopback receiver.

The receiver is the reference one (``consumers.webhooks.receiver``): it verifies
every signature with ``standardwebhooks`` and applies each webhook-id once.

1. throughput: deliveries waiting on an authority's topic are drained by the
   webhook process (``stop_at_end``), each POSTed, answered, acknowledged;
2. latency: with the process running, deliveries are produced at a steady rate;
   for each, the time from its send to Kafka to its arrival at the receiver.

Prints the figures; asserts nothing about time. Not part of ``make test``::

    .venv/bin/python -m tests.perf.bench_webhooks                      # 5,000 deliveries
    .venv/bin/python -m tests.perf.bench_webhooks --deliveries 20000 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from starlette.responses import Response

import infra
from consumers.webhooks import add_endpoint, open_endpoints, run, webhook_id
from consumers.webhooks._relay import Relay
from consumers.webhooks.receiver import Receiver, serving
from rps.logs import configure
from rps.settings import Settings
from schemas.topics import Topics
from tests.perf.extras import percentiles
from tests.unit.consumers.events import address, profile_updated

AUTHORITY = "urn:org:bench"


async def produce(
    settings: Settings, authority: str, count: int, residents: int, *, rate: float = 0.0
) -> dict[str, float]:
    """``count`` deliveries for ``residents`` residents (paced at ``rate`` a second if given);
    the time each was sent, by webhook-id."""
    topic = Topics(settings.topic_prefix).deliveries(authority)
    subjects = [str(uuid.uuid4()) for _ in range(residents)]
    sent: dict[str, float] = {}
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await producer.start()
    try:
        started = time.perf_counter()
        pending = []
        for n in range(count):
            subject = subjects[n % residents]
            decision = f"bench-{uuid.uuid4().hex[:16]}"
            value = profile_updated(
                n + 1,
                address(f"Flat {n % 300 + 1}"),
                subject=subject,
                reference=f"REF-{subject[:8]}",
                authority=authority,
                decision_id=decision,
            )
            sent[webhook_id(decision, n + 1)] = time.time()
            pending.append(await producer.send(topic, value, key=subject.encode()))
            if rate:
                await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
        for future in pending:
            await future
    finally:
        await producer.stop()
    return sent


async def throughput(settings: Settings, authority: str, receiver: Receiver) -> dict[str, Any]:
    """Drain the deliveries waiting on the authority's topic; deliveries a second."""
    began = time.perf_counter()
    stats = await run(settings, authority, stop_at_end=True)
    seconds = time.perf_counter() - began
    return {
        "deliveries": stats.records,
        "applied": stats.applied,
        "seconds": round(seconds, 2),
        "deliveries_per_second": round(stats.records / seconds, 1),
        "signatures_refused": receiver.refused_signatures,
    }


async def latency(
    settings: Settings, authority: str, receiver: Receiver, rate: float, seconds: float
) -> dict[str, Any]:
    """Send to Kafka -> arrival at the receiver, for deliveries produced at ``rate`` a second
    while the webhook process runs."""
    arrivals: dict[str, float] = {}

    async def stamp(webhook_id: str, _tries: int) -> Response | None:
        arrivals.setdefault(webhook_id, time.time())
        return None

    receiver.hook = stamp
    count = max(1, int(rate * seconds))
    async with open_endpoints(settings) as store, aiohttp.ClientSession() as client:
        relay = Relay(settings, authority, store, client)
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(5)  # the group joins before the clock starts
        sent = await produce(settings, authority, count, max(1, count // 4), rate=rate)
        for _ in range(2400):  # two minutes at most
            if sent.keys() <= arrivals.keys():
                break
            await asyncio.sleep(0.05)
        relay.stop()
        await task
    samples = [(arrivals[i] - sent[i]) * 1000 for i in sent if i in arrivals]
    return {"rate": rate, **percentiles([round(ms, 1) for ms in samples])}


async def measure(
    base: Settings, deliveries: int, residents: int, rate: float, seconds: float, scratch: Path
) -> dict[str, Any]:
    """Both figures on fresh topics, a scratch hub database and a loopback receiver."""
    settings = base.model_copy(update={"topic_prefix": f"perfwh{uuid.uuid4().hex[:8]}"})
    await infra.ensure_topics(settings)
    await infra.ensure_delivery_topic(settings, AUTHORITY)
    await produce(settings, AUTHORITY, deliveries, residents)
    return await for_authority(settings, AUTHORITY, rate, seconds, scratch)


async def for_authority(
    base: Settings, authority: str, rate: float, seconds: float, scratch: Path
) -> dict[str, Any]:
    """Drain what waits on ``authority``'s topic through the webhook path (throughput), then
    time deliveries produced at ``rate`` while it runs (latency): the perf suite calls this
    for the busiest council, beside the reference subscriber."""
    settings = base.model_copy(
        update={"database_url": SecretStr(f"sqlite+aiosqlite:///{scratch / 'webhooks-hub.db'}")}
    )
    receiver = Receiver(secret="")
    async with serving(receiver) as url:
        receiver.secret = (await add_endpoint(settings, authority, url)).secret
        return {
            "throughput": await throughput(settings, authority, receiver),
            "latency": await latency(settings, authority, receiver, rate, seconds),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0, help="latency: deliveries a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency: for how long")
    options = parser.parse_args(argv)
    configure(level="warning")
    with tempfile.TemporaryDirectory(prefix="rps-bench-webhooks-") as scratch:
        figures = asyncio.run(
            measure(
                Settings(),
                options.deliveries,
                options.residents,
                options.rate,
                options.seconds,
                Path(scratch),
            )
        )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
