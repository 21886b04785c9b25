"""The read model rebuilt from the facts log alone: events decided by a real worker, the
inbound topics then emptied (as their 7-day retention leaves them), and `rps readmodel
--rebuild` still finds every claim and consent; an erased resident rebuilds to nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete

from rps.reading import partitions_of, read_to_end
from rps.settings import Settings
from schemas.topics import Topics
from streams.worker import facts_log
from tests.integration.operators.conftest import decided, rps
from tests.integration.operators.test_erasure import CANARY_LINE, OTHER_LINE, WIRRAL, plant
from tests.integration.streams.conftest import PublishAs, Workers, audit_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def empty(settings: Settings, *topics: str) -> None:
    """Delete every record of ``topics`` now, as their retention does once they are old."""
    consumer = AIOKafkaConsumer(**settings.kafka_client_options())
    await consumer.start()
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            partitions += await partitions_of(settings, topic)
        ends = await consumer.end_offsets(partitions)
        await admin.delete_records({tp: RecordsToDelete(before_offset=ends[tp]) for tp in ends})
    finally:
        await admin.close()
        await consumer.stop()


async def logged(settings: Settings, ids: set[str], erasures: int) -> None:
    """Wait until the facts log holds every one of ``ids`` and ``erasures`` erasure records."""
    topic = Topics(settings.topic_prefix).facts
    for _ in range(60):
        found = [facts_log.decode(r.value) for r in await read_to_end(settings, topic)]
        erased = [f for f in found if f.erasure() is not None]
        if ids <= {f.id for f in found} and len(erased) >= erasures:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("the facts log did not get every decided event")


async def export(settings: Settings, resident: str) -> dict[str, Any]:
    ran = await rps(settings, "residents", "export", resident)
    assert ran.code == 0, ran.err
    document: dict[str, Any] = json.loads(ran.out)
    return document


async def test_a_rebuild_after_the_inbound_topics_are_gone_reads_the_facts_log(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """Every claim and consent of a kept resident comes back from the facts log; the erased
    resident's sealed records do not open, are counted, and leave nothing behind."""
    now = dt.datetime.now(dt.UTC)
    workers()
    erased, kept = str(uuid.uuid4()), str(uuid.uuid4())
    planted = await plant(publish_as, erased, CANARY_LINE, now)
    others = await plant(publish_as, kept, OTHER_LINE, now)
    await audit_until(worker_settings, decided(set(planted) | set(others)), workers)
    done = await rps(worker_settings, "erase", erased, "--reason", "resident_request")
    assert done.code == 0, done.err
    await audit_until(
        worker_settings,
        lambda rs: any(r.subject == erased and r.data.decision == "erased" for r in rs),
        workers,
    )
    await logged(worker_settings, set(planted) | set(others), erasures=1)
    topics = Topics(worker_settings.topic_prefix)
    await empty(worker_settings, topics.attributes, topics.consents, topics.control)
    assert await read_to_end(worker_settings, topics.attributes) == []

    rebuilt = await rps(worker_settings, "readmodel", "--rebuild", "--stop-at-end")
    assert rebuilt.code == 0, rebuilt.err
    passed = re.search(r"\((\d+) of erased residents\)", rebuilt.out)
    assert passed is not None, rebuilt.out
    assert int(passed.group(1)) == len(planted)  # the erased resident's sealed records

    document = await export(worker_settings, kept)
    assert {c["claim_id"] for c in document["claims"]} == set(others[1:])
    assert [p["attribute"] for p in document["profile"]] == ["address"]
    assert OTHER_LINE in json.dumps(document["profile"])
    assert [c["authority"] for c in document["consents"]] == [WIRRAL]
    gone = await export(worker_settings, erased)
    assert (gone["claims"], gone["profile"], gone["consents"]) == ([], [], [])
    assert [e["reason"] for e in gone["erasures"]] == ["resident_request"]
    assert CANARY_LINE not in json.dumps(gone)
