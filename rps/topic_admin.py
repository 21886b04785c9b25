"""Topic administration against any Kafka cluster: create topics with the configuration the
design gives them, and wait until every partition has a leader.

The worker creates an authority's delivery topic through this module the first
time it delivers there; ``infra`` (which fetches and starts the local services)
builds its whole-layout checks on it. Creation is idempotent and safe to race:
a topic someone else created meanwhile counts as there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rps.settings import Settings
from schemas.topics import Topics, TopicSpec

_UNKNOWN_TOPIC = 3
_TOPIC_EXISTS = 36
_MIN_SEGMENT_MS = 10_000
_MAX_SEGMENT_MS = 7 * 24 * 3600 * 1000  # Kafka's own default


class TopicAdminError(Exception):
    """Kafka did not answer, or refused to create or describe a topic (names the topic)."""


def retention_ms(settings: Settings, spec: TopicSpec) -> int | None:
    """How long a topic keeps records: None when compacted, -1 for ever.

    The retained record (the sealed facts log, the audit trail, operators' actions) keeps
    ``records_retention_ms``; what arrives in plain text (attributes, consents, control) and
    the dead letters keep ``inbound_retention_ms`` (the attributes topic its own setting,
    when given); every other topic ``default_retention_ms``.
    """
    if spec.cleanup == "compact":
        return None
    topics = Topics(settings.topic_prefix)
    if spec.name in (topics.facts, topics.audit, topics.operations):
        return settings.records_retention_ms
    if spec.name == topics.attributes and settings.attributes_retention_ms is not None:
        return settings.attributes_retention_ms
    if spec.name in topics.passing:
        return settings.inbound_retention_ms
    return settings.default_retention_ms


def topic_config(settings: Settings, spec: TopicSpec) -> dict[str, str]:
    """The topic-level configuration we create ``spec`` with."""
    config: dict[str, str] = {"cleanup.policy": spec.cleanup}
    retention = retention_ms(settings, spec)
    if retention is not None:
        config["retention.ms"] = str(retention)
    if retention is not None and retention > 0:
        # Retention removes whole segments, and a segment is closed only when it is this old:
        # a record lives at most retention.ms + segment.ms (Kafka's 7 days by default).
        config["segment.ms"] = str(min(max(retention // 7, _MIN_SEGMENT_MS), _MAX_SEGMENT_MS))
    topics = Topics(settings.topic_prefix)
    if spec.name in (*topics.signed, topics.publishers):
        config["message.timestamp.type"] = "LogAppendTime"  # key validity is judged by it
    if settings.replication_factor > 1:
        config["min.insync.replicas"] = str(min(2, settings.replication_factor))
    return config


async def started_admin(settings: Settings) -> AIOKafkaAdminClient:
    """An admin client connected to the cluster (the caller closes it)."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options(), request_timeout_ms=30_000)
    try:
        await admin.start()
    except Exception as error:
        await admin.close()
        raise TopicAdminError(
            f"cannot reach Kafka at {settings.bootstrap_servers} (RPS_BOOTSTRAP_SERVERS): "
            f"{type(error).__name__}"
        ) from error
    return admin


async def partition_counts(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, int]:
    """Partition counts of the topics among ``names`` that exist."""
    counts: dict[str, int] = {}
    for topic in await admin.describe_topics(list(names)):
        if topic["error_code"] == 0:
            counts[topic["topic"]] = len(topic["partitions"])
        elif topic["error_code"] != _UNKNOWN_TOPIC:
            raise TopicAdminError(
                f"describing topic {topic['topic']} failed: {topic['error_code']}"
            )
    return counts


async def create_missing(
    admin: AIOKafkaAdminClient, settings: Settings, missing: Sequence[TopicSpec]
) -> set[str]:
    """Create ``missing`` with ``Settings.partitions`` partitions each; the names this call
    created (one created meanwhile by another process is not among them)."""
    created: set[str] = set()
    if not missing:
        return created
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
        elif code != _TOPIC_EXISTS:
            raise TopicAdminError(f"creating topic {name} failed ({code}): {message}")
    return created


def _topic_errors(response: Any) -> list[tuple[str, int, str | None]]:
    return [(str(item[0]), int(item[1]), item[2]) for item in response.topic_errors]


async def wait_for_leaders(admin: AIOKafkaAdminClient, names: Sequence[str]) -> None:
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
            raise TopicAdminError(
                f"topics did not get partition leaders in 60 s: {', '.join(names)}"
            )
        await asyncio.sleep(0.1)


async def ensure_delivery_topic(settings: Settings, authority: str) -> str:
    """Create the delivery topic of ``authority`` when missing; returns its name.

    Cheap when the topic exists (one metadata request), so a worker may call it
    the first time it delivers to an authority.
    """
    spec = Topics(settings.topic_prefix).delivery_spec(authority)
    admin = await started_admin(settings)
    try:
        existing = await partition_counts(admin, [spec.name])
        await create_missing(admin, settings, [s for s in [spec] if s.name not in existing])
        await wait_for_leaders(admin, [spec.name])
    finally:
        await admin.close()
    return spec.name
