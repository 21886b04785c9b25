"""Create the product's topics with the layout the design requires, and check the ones that exist.

Co-partitioned topics (attributes, consents, control) must share one partition
count, ``Settings.partitions``; subscriptions are compacted; the record topics
(attributes, consents, audit) keep ``attributes_retention_ms`` (for ever by
default, since replay and audit read them from the start); every other topic
keeps ``default_retention_ms``. Creation is idempotent and safe to race: a topic
someone else created meanwhile is checked like any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from infra.errors import ServiceError, TopicLayoutError
from rps.settings import Settings
from schemas.topics import Topics, TopicSpec

_UNKNOWN_TOPIC = 3
_TOPIC_EXISTS = 36


@dataclass(frozen=True, slots=True)
class TopicState:
    """One topic as it stands after `ensure_topics`."""

    name: str
    partitions: int
    cleanup: str
    retention_ms: int | None  # None for compacted topics
    created: bool


def retention_ms(settings: Settings, spec: TopicSpec) -> int | None:
    """How long a topic keeps records: None when compacted, -1 for ever."""
    if spec.cleanup == "compact":
        return None
    topics = Topics(settings.topic_prefix)
    records = {topics.attributes, topics.consents, topics.audit}
    if spec.name in records:
        return settings.attributes_retention_ms
    return settings.default_retention_ms


def topic_config(settings: Settings, spec: TopicSpec) -> dict[str, str]:
    """The topic-level configuration we create ``spec`` with."""
    config: dict[str, str] = {"cleanup.policy": spec.cleanup}
    retention = retention_ms(settings, spec)
    if retention is not None:
        config["retention.ms"] = str(retention)
    topics = Topics(settings.topic_prefix)
    if spec.name in (*topics.signed, topics.publishers):
        config["message.timestamp.type"] = "LogAppendTime"  # key validity is judged by it
    if settings.replication_factor > 1:
        config["min.insync.replicas"] = str(min(2, settings.replication_factor))
    return config


def check_layout(settings: Settings, specs: Iterable[TopicSpec], existing: dict[str, int]) -> None:
    """Refuse when co-partitioned topics (existing or about to be created) disagree on partitions.

    Topics still to be created get ``Settings.partitions``, and the worker joins by
    that count, so an existing co-partitioned topic must have exactly that many.
    """
    counts = {
        spec.name: existing.get(spec.name, settings.partitions)
        for spec in specs
        if spec.co_partitioned
    }
    if set(counts.values()) - {settings.partitions}:
        found = ", ".join(f"{name} has {count}" for name, count in sorted(counts.items()))
        raise TopicLayoutError(
            "co-partitioned topics must all have RPS_PARTITIONS "
            f"({settings.partitions}) partitions, but {found}. Set RPS_PARTITIONS to match "
            "the existing topics, or recreate them with one count"
        )


def _admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**settings.kafka_client_options(), request_timeout_ms=30_000)


async def _partition_counts(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, int]:
    """Partition counts of the topics among ``names`` that exist."""
    counts: dict[str, int] = {}
    for topic in await admin.describe_topics(list(names)):
        if topic["error_code"] == 0:
            counts[topic["topic"]] = len(topic["partitions"])
        elif topic["error_code"] != _UNKNOWN_TOPIC:
            raise ServiceError(f"describing topic {topic['topic']} failed: {topic['error_code']}")
    return counts


async def _cleanup_policies(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, str]:
    if not names:
        return {}
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, configs={"cleanup.policy": None})
        for name in names
    ]
    policies: dict[str, str] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] == "cleanup.policy":
                    policies[name] = entry[1]
    return policies


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: Sequence[str]) -> None:
    """Wait until every partition of ``names`` has a leader, so producers and consumers see them."""
    deadline = time.monotonic() + 60
    while True:
        topics = await admin.describe_topics(list(names))
        ready = all(
            topic["error_code"] == 0
            and topic["partitions"]
            and all(p["leader"] >= 0 for p in topic["partitions"])
            for topic in topics
        )
        if ready:
            return
        if time.monotonic() > deadline:
            raise ServiceError(f"topics did not get partition leaders in 60 s: {', '.join(names)}")
        await asyncio.sleep(0.1)


async def _ensure(
    settings: Settings, specs: Sequence[TopicSpec], *, check_policies: bool
) -> list[TopicState]:
    admin = _admin(settings)
    try:
        await admin.start()
    except Exception as error:
        await admin.close()
        raise ServiceError(
            f"cannot reach Kafka at {settings.bootstrap_servers} (RPS_BOOTSTRAP_SERVERS): "
            f"{type(error).__name__}"
        ) from error
    try:
        names = [spec.name for spec in specs]
        existing = await _partition_counts(admin, names)
        check_layout(settings, specs, existing)
        if check_policies:
            policies = await _cleanup_policies(admin, list(existing))
            wrong = [s for s in specs if s.name in policies and policies[s.name] != s.cleanup]
            if wrong:
                found = ", ".join(f"{s.name} is {policies[s.name]!r}" for s in wrong)
                raise TopicLayoutError(f"topics with the wrong cleanup.policy: {found}")
        missing = [spec for spec in specs if spec.name not in existing]
        created: set[str] = set()
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        spec.name,
                        settings.partitions,
                        settings.replication_factor,
                        topic_configs=topic_config(settings, spec),
                    )
                    for spec in missing
                ]
            )
            for name, code, message in _topic_errors(response):
                if code == 0:
                    created.add(name)
                elif code != _TOPIC_EXISTS:  # created meanwhile by another process: checked below
                    raise ServiceError(f"creating topic {name} failed ({code}): {message}")
        await _wait_for_leaders(admin, names)
        if missing:
            existing = await _partition_counts(admin, names)
            check_layout(settings, specs, existing)
    finally:
        await admin.close()
    return [
        TopicState(
            spec.name,
            existing[spec.name],
            spec.cleanup,
            retention_ms(settings, spec),
            spec.name in created,
        )
        for spec in specs
    ]


def _topic_errors(response: Any) -> list[tuple[str, int, str | None]]:
    return [(str(item[0]), int(item[1]), item[2]) for item in response.topic_errors]


async def ensure_specs(settings: Settings, specs: Sequence[TopicSpec]) -> list[TopicState]:
    """Create exactly ``specs`` when missing, with ``Settings.partitions`` partitions each."""
    return await _ensure(settings, specs, check_policies=True)


async def ensure_topics(settings: Settings, extra: Sequence[TopicSpec] = ()) -> list[TopicState]:
    """Create every fixed topic (and ``extra``) that is missing; refuse a broken layout.

    Raises TopicLayoutError when co-partitioned topics disagree on their partition
    count or a topic has the wrong clean-up policy, before creating anything.
    """
    specs = (*Topics(settings.topic_prefix).fixed(), *extra)
    return await _ensure(settings, specs, check_policies=True)


async def ensure_delivery_topic(settings: Settings, authority: str) -> str:
    """Create the delivery topic of ``authority`` when missing; returns its name.

    Cheap when the topic exists (one metadata request), so a worker may call it
    the first time it delivers to an authority.
    """
    spec = Topics(settings.topic_prefix).delivery_spec(authority)
    await _ensure(settings, [spec], check_policies=False)
    return spec.name
