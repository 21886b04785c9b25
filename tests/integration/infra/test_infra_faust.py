"""A real Faust worker (faust-streaming) processing messages through the real Kafka 4.x broker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from rps.settings import Settings
from tests.conftest import ReadTopic, TopicFactory

_HERE = Path(__file__).parent
_ROOT = _HERE.parents[2]


async def test_faust_agent_with_a_table_processes_through_the_broker(
    settings: Settings, topic_factory: TopicFactory, read_topic: ReadTopic, tmp_path: Path
) -> None:
    """A Faust worker reads a topic, updates its table and sends on; its changelog is its own."""
    source = await topic_factory("probe.in", partitions=2)
    sink = await topic_factory("probe.out", partitions=2)
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        for key, value in (("r1", "a"), ("r2", "b"), ("r1", "c")):
            await producer.send_and_wait(
                source, json.dumps(value).encode(), key=json.dumps(key).encode()
            )
    finally:
        await producer.stop()

    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(_HERE), str(_ROOT))),
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_APP_ID": settings.app_id,
    }
    with log.open("wb") as output:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "faust", "-A", "faust_probe_app", "worker", "-l", "info",
            cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            records = await read_topic(sink, at_least=3, wait_seconds=120)
        finally:
            worker.terminate()
            await worker.wait()

    outputs = sorted((json.loads(r.key), json.loads(r.value)) for r in records)
    assert outputs == [("r1", "a:1"), ("r1", "c:2"), ("r2", "b:1")], log.read_text()[-3000:]
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        topics = await admin.list_topics()
    finally:
        await admin.close()
    assert f"{settings.app_id}-probe-counts-changelog" in topics
