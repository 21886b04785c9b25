"""Kafka with SASL/SCRAM and per-topic ACLs: each credential reaches only its own topics.

A private broker of this test's own (``infra.secured``: SCRAM-SHA-512,
StandardAuthorizer, the hub the only super user) holds the fixed topics and
two authorities' delivery topics. Wirral's credential reads its own delivery
topic (the real ``rps subscribe`` applies it and acknowledges) and is refused
on DWP's topic and on the inbound topics; a publisher's credential writes the
attributes topic and is refused on a delivery topic.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from pydantic import SecretStr

import infra
from cli.spawn import environment
from infra import secured
from infra.secured import ScramUser
from rps.settings import Settings
from schemas.topics import Topics
from tests.conftest import read_records
from tests.integration.producers.test_gateway_process import free_port
from tests.unit.consumers.events import SUBJECT, address, profile_updated

pytestmark = pytest.mark.integration

WIRRAL, DWP = "E08000015", "urn:org:dwp"
HUB = ScramUser("hub", secrets.token_hex(16))
WIRRAL_USER = ScramUser("wirral", secrets.token_hex(16))
DWP_USER = ScramUser("dwp", secrets.token_hex(16))
PUBLISHER = ScramUser("liverpool-publisher", secrets.token_hex(16))
GROUP = f"acl-subscriber-{WIRRAL}"  # the subscriber's default group under the prefix "acl"
REFUSED = (TopicAuthorizationFailedError, GroupAuthorizationFailedError)


@pytest.fixture
async def hub(local_services: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """The hub's settings on a secured broker of this test's own; the broker is stopped after."""
    port = free_port()
    base = local_services.model_copy(
        update={
            "state_dir": tmp_path / "secured",
            "kafka_port": port,
            "kafka_controller_port": free_port(),
            "bootstrap_servers": f"127.0.0.1:{port}",
            "kafka_heap": "512m",
            "topic_prefix": "acl",
            "partitions": 2,
            # Unsigned events, as in the shared settings fixture (tests/conftest.py).
            "trust": "off",
            "database_url": SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"),
        }
    )
    settings = secured.client_settings(base, HUB)
    try:
        await secured.start(settings, HUB, [WIRRAL_USER, DWP_USER, PUBLISHER])
        yield settings
    finally:
        await asyncio.to_thread(secured.stop, settings)


async def read_as(settings: Settings, topic: str) -> list[bytes | None]:
    """The values of ``topic`` read with ``settings``' credential and its subscriber's group."""
    consumer = AIOKafkaConsumer(
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **settings.kafka_client_options(),
    )
    await consumer.start()
    try:
        # The consumer only logs a topic the broker refuses to describe and waits for ever;
        # the metadata answer is where the refusal shows, as TopicAuthorizationFailedError.
        await consumer._client._wait_on_metadata(topic)
        consumer.assign([TopicPartition(topic, p) for p in range(settings.partitions)])
        values: list[bytes | None] = []
        async with asyncio.timeout(60):
            while not values:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    values.extend(r.value for r in records)
        return values
    finally:
        await consumer.stop()


async def write_as(settings: Settings, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(request_timeout_ms=15_000, **settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=SUBJECT.encode())
    finally:
        await producer.stop()


async def test_an_authority_reads_only_its_own_delivery_topic(
    hub: Settings, tmp_path: Path
) -> None:
    """Wirral's credential reads (and `rps subscribe` applies) its own deliveries, and is refused
    on DWP's delivery topic and the inbound topics; a publisher may write only inbound topics."""
    topics = Topics(hub.topic_prefix)
    await infra.ensure_topics(hub)
    for authority in (WIRRAL, DWP):
        await infra.ensure_delivery_topic(hub, authority)
    await secured.create_acls(
        hub,
        [
            *secured.authority_acls(topics, WIRRAL, WIRRAL_USER, GROUP),
            *secured.authority_acls(topics, DWP, DWP_USER, "acl-subscriber-org.dwp"),
            *secured.publisher_acls(topics, PUBLISHER),
        ],
    )
    delivery = profile_updated(1, address("Flat 1"), authority=WIRRAL)
    await write_as(hub, topics.deliveries(WIRRAL), delivery)
    await write_as(hub, topics.deliveries(DWP), b"for dwp only")
    wirral = secured.client_settings(hub, WIRRAL_USER)
    publisher = secured.client_settings(hub, PUBLISHER)

    assert await read_as(wirral, topics.deliveries(WIRRAL)) == [delivery]
    for foreign in (topics.deliveries(DWP), topics.attributes, topics.consents, topics.audit):
        with pytest.raises(REFUSED):
            await read_as(wirral, foreign)
    for forbidden in (topics.deliveries(WIRRAL), topics.attributes):
        with pytest.raises(REFUSED):
            await write_as(wirral, forbidden, b"forged")
    await write_as(publisher, topics.attributes, b"a publisher may write inbound topics")
    for forbidden in (topics.deliveries(WIRRAL), topics.deliveries(DWP), topics.audit):
        with pytest.raises(REFUSED):
            await write_as(publisher, forbidden, b"forged delivery")

    env = environment(
        wirral,
        RPS_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        RPS_SASL_MECHANISM=secured.MECHANISM,
        RPS_SASL_USERNAME=WIRRAL_USER.name,
        RPS_SASL_PASSWORD=WIRRAL_USER.password,
    )
    rps = str(Path(sys.executable).with_name("rps"))
    db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    process = await asyncio.create_subprocess_exec(
        rps,
        "subscribe",
        WIRRAL,
        "--db",
        db,
        "--stop-at-end",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, output.decode()[-3000:]
    acknowledgements = await read_records(hub, topics.acknowledgements, at_least=1)
    assert len(acknowledgements) == 1, "the subscriber acknowledged its delivery under its ACLs"
    assert WIRRAL_USER.password.encode() not in output, "the subscriber printed its password"
