"""Fixtures of the consumers' integration tests: repository tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumers._sql_store import SqlAuthorityStore
from consumers.subscriber import open_store
from infra.topics import ensure_delivery_topic
from rps.keystore import SqlKeyStore
from rps.settings import Settings
from schemas.topics import Topics
from streams.worker import facts_log
from tests.conftest import read_records

Headers = Sequence[tuple[str, bytes]]


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind, from the shared ``sqlite_url`` and ``postgres_url``."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def authority_store(backend_url: str) -> AsyncIterator[SqlAuthorityStore]:
    """An authority's store, migrated, deleting values as soon as consent ends."""
    store = open_store(backend_url)
    await store.prepare()
    yield store
    await store.close()


class KafkaIO:
    """Plain producing and reading for the tests, against the real broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)

    async def ready(self, *authorities: str) -> None:
        """Create the delivery topics of ``authorities`` (the fixed ones exist already)."""
        for authority in authorities:
            await ensure_delivery_topic(self.settings, authority)

    async def produce(
        self, topic: str, values: Sequence[bytes], *, key: bytes, headers: Headers = ()
    ) -> None:
        """Send ``values`` in order under one key (so onto one partition)."""
        producer = AIOKafkaProducer(acks="all", **self.settings.kafka_client_options())
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(topic, value=value, key=key, headers=list(headers))
        finally:
            await producer.stop()

    async def record_facts(self, topic: str, values: Sequence[bytes], *, key: bytes) -> None:
        """Append ``values`` to the facts log as the worker does when it decides them from
        ``topic``: each sealed whole under its resident's data key, keyed by the resident."""
        keys = await SqlKeyStore.open(self.settings)
        try:
            sealed = []
            for value in values:
                event_id = str(orjson.loads(value)["id"])
                resident = key.decode()
                original = facts_log.Original(topic, 0, 0, key, value, [], time.time())
                data_key = await keys.get_or_create(resident)
                now = datetime.now(UTC)
                sealed.append(facts_log.recorded(original, event_id, resident, data_key, now))
        finally:
            await keys.close()
        await self.produce(self.topics.facts, sealed, key=key)

    async def read_all(self, topic: str) -> list[Any]:
        """Every record on ``topic`` now, read without a group."""
        return await read_records(self.settings, topic)

    async def committed(self, topic: str, group_id: str) -> dict[int, int | None]:
        """The group's committed offsets per partition of ``topic``."""
        consumer = AIOKafkaConsumer(
            group_id=group_id, enable_auto_commit=False, **self.settings.kafka_client_options()
        )
        await consumer.start()
        try:
            partitions = {r.partition for r in await self.read_all(topic)} or {0}
            return {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
        finally:
            await consumer.stop()


@pytest.fixture
async def kafka_io(settings: Settings) -> KafkaIO:
    """Producing and reading on the test's own topics (unique prefix per test)."""
    return KafkaIO(settings)
