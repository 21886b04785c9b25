"""The ceiling: a raw aiokafka pipeline with no logic, run as its own process.

It consumes the attributes and consents topics of ``--prefix`` in a consumer
group; after one warm-up record (copied once) it writes ``--outputs`` records
for the next ``--events`` records, spread evenly, to the sink topic; it waits
until Kafka has them, then commits, exactly the
order the worker keeps (outputs acknowledged before the input is committed),
with the same producer acknowledgements (all). Stops on SIGTERM::

    python -m tests.perf.passthrough --prefix perf1234 --events 10000 --outputs 42000
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from rps.settings import Settings
from schemas.topics import Topics


def sink(prefix: str) -> str:
    """The topic the passthrough writes to."""
    return f"{prefix}.passthrough.sink"


def group(prefix: str) -> str:
    """The passthrough's consumer group."""
    return f"{prefix}.passthrough"


async def run(settings: Settings, events: int, outputs: int) -> None:
    """Copy inbound records to the sink until SIGTERM."""
    topics = Topics(settings.topic_prefix)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        topics.attributes,
        topics.consents,
        group_id=group(settings.topic_prefix),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **settings.kafka_client_options(),
    )
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await consumer.start()
    await producer.start()
    target, seen = sink(settings.topic_prefix), -1  # -1: the warm-up record
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            futures = []
            for records in batches.values():
                for record in records:
                    copies = 1 if seen < 0 else copies_of(seen, events, outputs)
                    seen += 1
                    for _ in range(copies):
                        futures.append(await producer.send(target, record.value, key=record.key))
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


def copies_of(n: int, events: int, outputs: int) -> int:
    """How many outputs record ``n`` (from 0) stands for: ``outputs`` in all over ``events``."""
    return (n + 1) * outputs // events - n * outputs // events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--outputs", type=int, required=True)
    args = parser.parse_args()
    settings = Settings().model_copy(update={"topic_prefix": args.prefix})
    asyncio.run(run(settings, args.events, args.outputs))


if __name__ == "__main__":
    main()
