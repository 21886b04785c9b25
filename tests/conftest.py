"""Shared fixtures: the real Kafka broker and real databases, one fixture away from any test.

- ``local_services`` (session): starts Kafka and PostgreSQL with ``infra.up`` or
  reuses the ones running (``rps infra up``, an earlier session). If they cannot
  start, every test that needs them errors: they are never skipped. They are
  left running afterwards (other sessions may share them); ``rps infra down``
  stops them.
- ``kafka_bootstrap`` (session): the bootstrap servers.
- ``settings``: a ``Settings`` for the local services with a fresh topic prefix
  and app id, its fixed topics created, so tests never see each other's data.
  Trust is off (``trust="off"``): tests of proof of origin turn it on.
- ``postgres_url`` / ``sqlite_url``: a fresh, empty database of each kind.
- ``topic_factory``: create an extra topic under the test's prefix.
- ``read_topic``: every record a topic holds now (or, waiting, at least N).

Tests under ``tests/integration`` and ``tests/e2e`` are marked ``integration``
and ``e2e`` by directory.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr

import infra
from infra.postgres import is_managed
from rps.settings import Settings
from schemas.topics import Cleanup, TopicSpec
from tests.databases import scratch_database

_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by directory: integration and e2e need the real services."""
    for item in items:
        path = Path(str(item.path))
        for kind in ("integration", "e2e"):
            if (_TESTS / kind) in path.parents:
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
async def local_services() -> Settings:
    """Settings for the running local services, started now when they were not running."""
    base = Settings()  # RPS_* may move ports or point at external services
    await infra.up(base)
    return base


@pytest.fixture(scope="session")
def kafka_bootstrap(local_services: Settings) -> str:
    """The bootstrap servers of the real broker."""
    return local_services.bootstrap_servers


@pytest.fixture
async def settings(local_services: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings with a unique topic prefix and app id, whose fixed topics exist.

    The test's topics (its prefix's, and the worker's changelogs under its app id)
    are deleted afterwards: a broker holding every topic of a long run, or of
    several runs sharing it, would run out of file handles.
    """
    tag = uuid.uuid4().hex[:12]
    fresh = local_services.model_copy(
        update={
            "topic_prefix": f"t{tag}",
            "app_id": f"rps-test-{tag}",
            "database_url": SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"),
            # Suites written before proof of origin publish unsigned events; the trust
            # tests (tests/integration/streams/test_trust_worker.py) set "enforce".
            "trust": "off",
        }
    )
    await infra.ensure_topics(fresh)
    yield fresh
    await _delete_topics(fresh, (f"{fresh.topic_prefix}.", f"{fresh.app_id}-"))


async def _delete_topics(settings: Settings, prefixes: tuple[str, ...]) -> None:
    """Delete every topic whose name starts with one of ``prefixes`` (best effort)."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    try:
        await admin.start()
        names = [name for name in await admin.list_topics() if name.startswith(prefixes)]
        if names:
            await admin.delete_topics(names, timeout_ms=30_000)
    except Exception as error:  # a leftover topic must never fail the test that made it
        print(f"could not delete the test's topics: {error!r}")
    finally:
        await admin.close()


def _postgres_server_url(base: Settings) -> str:
    if is_managed(base):
        return infra.local_url(base)
    url = base.database_url.get_secret_value()
    if not url.startswith("postgresql"):
        pytest.fail(
            "the integration tests need PostgreSQL: RPS_MANAGE_POSTGRES is false and "
            "RPS_DATABASE_URL is not a postgresql+asyncpg:// URL"
        )
    return url


@pytest.fixture
async def postgres_url(local_services: Settings) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database (``postgresql+asyncpg://``), dropped afterwards."""
    async with scratch_database(_postgres_server_url(local_services), "t") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file (``sqlite+aiosqlite://``) in the test's temporary directory."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


class TopicFactory(Protocol):
    def __call__(
        self, suffix: str, *, partitions: int | None = None, cleanup: Cleanup = "delete"
    ) -> Awaitable[str]: ...


@pytest.fixture
def topic_factory(settings: Settings) -> TopicFactory:
    """``await topic_factory("probe.in", partitions=2)`` creates ``<prefix>.probe.in``."""

    async def create(
        suffix: str, *, partitions: int | None = None, cleanup: Cleanup = "delete"
    ) -> str:
        name = f"{settings.topic_prefix}.{suffix}"
        sized = settings.model_copy(update={"partitions": partitions or settings.partitions})
        await infra.ensure_specs(sized, [TopicSpec(name, cleanup, False, "test topic")])
        return name

    return create


ReadTopic = Callable[..., Awaitable[list[Any]]]


async def read_records(
    settings: Settings, topic: str, *, at_least: int = 0, wait_seconds: float = 60.0
) -> list[Any]:
    """Every record on ``topic`` (all partitions, from the start, no consumer group).

    Reads up to the end offsets as they stand when called; with ``at_least``, keeps
    reading until that many arrived or ``wait_seconds`` passed, then returns what
    it has, so the test's own assertion reports what is missing.
    """
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        raise AssertionError(f"topic {topic} does not exist (error {described['error_code']})")
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest", **settings.kafka_client_options()
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + wait_seconds
        while True:
            ends = await consumer.end_offsets(partitions)
            behind = [tp for tp, end in ends.items() if await consumer.position(tp) < end]
            if not behind and (len(records) >= at_least or time.monotonic() > deadline):
                return records
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
            if not batch and not behind:
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()


@pytest.fixture
def read_topic(settings: Settings) -> ReadTopic:
    """``await read_topic(topic, at_least=3)``: the records of one of the test's topics."""

    async def read(topic: str, *, at_least: int = 0, wait_seconds: float = 60.0) -> list[Any]:
        return await read_records(settings, topic, at_least=at_least, wait_seconds=wait_seconds)

    return read
