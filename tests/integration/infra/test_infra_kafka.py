"""The real Kafka 4.x broker: aiokafka clients, and the topic layout `rps topics create` makes."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

import infra
from cli.main import app
from infra.errors import TopicLayoutError
from rps.settings import Settings
from schemas.topics import Topics, TopicSpec
from tests.conftest import ReadTopic, TopicFactory


async def _topic_configs(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        found: dict[str, dict[str, str]] = {}
        for response in await admin.describe_configs(resources):
            for resource in response.resources:
                found[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
        return found
    finally:
        await admin.close()


async def test_produce_and_consume_in_a_group(
    settings: Settings, topic_factory: TopicFactory
) -> None:
    """An idempotent producer's records reach a group consumer in order, and its commit sticks."""
    topic = await topic_factory("roundtrip", partitions=3)
    producer = AIOKafkaProducer(
        acks="all", enable_idempotence=True, **settings.kafka_client_options()
    )
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, f"v{n}".encode(), key=b"resident-1")
    finally:
        await producer.stop()

    group = f"{settings.app_id}-group"
    consumer = AIOKafkaConsumer(
        topic,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **settings.kafka_client_options(),
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < 5:
            batch = await consumer.getmany(timeout_ms=1000)
            values.extend(record.value for records in batch.values() for record in records)
        await consumer.commit()
        committed = [await consumer.committed(TopicPartition(topic, p)) for p in range(3)]
    finally:
        await consumer.stop()
    assert values == [f"v{n}".encode() for n in range(5)]
    assert sum(offset or 0 for offset in committed) == 5


async def test_fixed_topics_have_the_designed_layout(settings: Settings) -> None:
    """Every fixed topic has RPS_PARTITIONS partitions; subscriptions compact, the rest retain."""
    topics = Topics(settings.topic_prefix)
    names = [spec.name for spec in topics.fixed()]
    configs = await _topic_configs(settings, names)
    assert configs[topics.subscriptions]["cleanup.policy"] == "compact"
    assert configs[topics.publishers]["cleanup.policy"] == "compact"
    for name in (*topics.signed, topics.publishers):
        assert configs[name]["message.timestamp.type"] == "LogAppendTime", name
    for name in names:
        if name not in (topics.subscriptions, topics.publishers):
            assert configs[name]["cleanup.policy"] == "delete", name
    assert configs[topics.attributes]["retention.ms"] == str(settings.inbound_retention_ms)
    assert configs[topics.deadletter]["retention.ms"] == str(settings.inbound_retention_ms)
    assert configs[topics.facts]["retention.ms"] == str(settings.records_retention_ms)
    assert configs[topics.acknowledgements]["retention.ms"] == str(settings.default_retention_ms)
    states = await infra.ensure_topics(settings)
    assert {state.name: state.partitions for state in states} == dict.fromkeys(
        names, settings.partitions
    )
    assert not any(state.created for state in states)


async def test_co_partitioned_topics_that_disagree_are_refused(settings: Settings) -> None:
    """`ensure_topics` refuses, naming the topics, when RPS_PARTITIONS differs from what exists."""
    wider = settings.model_copy(update={"partitions": settings.partitions + 2})
    with pytest.raises(TopicLayoutError, match=r"attributes\.v1 has"):
        await infra.ensure_topics(wider)


async def test_missing_co_partitioned_topic_is_not_created_with_a_different_count(
    settings: Settings,
) -> None:
    """An extra co-partitioned topic is refused before creation when counts would disagree."""
    extra = TopicSpec(f"{settings.topic_prefix}.extra.v1", "delete", True, "joined by resident")
    wider = settings.model_copy(update={"partitions": settings.partitions + 1})
    with pytest.raises(TopicLayoutError):
        await infra.ensure_topics(wider, [extra])
    states = await infra.ensure_topics(settings, [extra])
    assert [s.partitions for s in states if s.name == extra.name] == [settings.partitions]


async def test_delivery_topic_is_created_on_demand_and_usable(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """`ensure_delivery_topic` creates an authority's topic once; a record sent there reads back."""
    first = await infra.ensure_delivery_topic(settings, "urn:org:dwp")
    again = await infra.ensure_delivery_topic(settings, "urn:org:dwp")
    assert first == again == f"{settings.topic_prefix}.deliveries.org.dwp.v1"
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(first, b"delivered", key=b"resident-2")
    finally:
        await producer.stop()
    records = await read_topic(first, at_least=1)
    assert [record.value for record in records] == [b"delivered"]


def test_topics_create_command_creates_then_reports_existing(local_services: Settings) -> None:
    """`rps topics create` creates the nine fixed topics, and a second run finds them all there."""
    prefix = f"cli{uuid.uuid4().hex[:10]}"
    partitions = local_services.partitions
    env = {"RPS_BOOTSTRAP_SERVERS": local_services.bootstrap_servers, "RPS_TOPIC_PREFIX": prefix}
    first = CliRunner().invoke(app, ["topics", "create"], env=env)
    second = CliRunner().invoke(app, ["topics", "create"], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.count("created  ") == 9
    assert f"created  {prefix}.facts.v1  {partitions} partitions, kept for ever" in first.output
    assert f"created  {prefix}.subscriptions.v1  {partitions} partitions, compacted" in first.output
    assert f"created  {prefix}.publishers.v1  {partitions} partitions, compacted" in first.output
    assert second.exit_code == 0, second.output
    assert second.output.count("exists   ") == 9
