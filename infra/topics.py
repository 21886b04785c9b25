"""Create the product's topics with the layout the design requires, and check the ones that exist.

Co-partitioned topics (attributes, consents, control, facts) must share one
partition count, ``Settings.partitions``; subscriptions are compacted; the
retained record (the sealed facts log, audit) keeps ``records_retention_ms`` (for
ever by default, since replay and audit read them from the start); the inbound
topics and the dead letters keep ``inbound_retention_ms`` (7 days); every other
topic keeps ``default_retention_ms`` (``rps.topic_admin.retention_ms``).
Creation is idempotent and safe to race: a topic someone else created meanwhile
is checked like any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from infra.errors import ServiceError, TopicLayoutError
from rps import topic_admin
from rps.settings import Settings
from rps.topic_admin import retention_ms as retention_ms
from rps.topic_admin import topic_config as topic_config
from schemas.topics import Topics, TopicSpec


@dataclass(frozen=True, slots=True)
class TopicState:
    """One topic as it stands after `ensure_topics`."""

    name: str
    partitions: int
    cleanup: str
    retention_ms: int | None  # None for compacted topics
    created: bool


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


async def _ensure(
    settings: Settings, specs: Sequence[TopicSpec], *, check_policies: bool
) -> list[TopicState]:
    try:
        return await _ensure_or_fail(settings, specs, check_policies=check_policies)
    except topic_admin.TopicAdminError as error:
        raise ServiceError(str(error)) from error


async def _all_described(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, int]:
    """Partition counts of ``names``, asking again while a broker whose metadata lags behind
    the controller's (a cluster of several) does not know a topic just created."""
    deadline = time.monotonic() + 30
    while True:
        existing = await topic_admin.partition_counts(admin, names)
        if set(names) <= set(existing) or time.monotonic() > deadline:
            return existing
        await asyncio.sleep(0.2)


async def _ensure_or_fail(
    settings: Settings, specs: Sequence[TopicSpec], *, check_policies: bool
) -> list[TopicState]:
    admin = await topic_admin.started_admin(settings)
    try:
        names = [spec.name for spec in specs]
        existing = await topic_admin.partition_counts(admin, names)
        check_layout(settings, specs, existing)
        if check_policies:
            policies = await _cleanup_policies(admin, list(existing))
            wrong = [s for s in specs if s.name in policies and policies[s.name] != s.cleanup]
            if wrong:
                found = ", ".join(f"{s.name} is {policies[s.name]!r}" for s in wrong)
                raise TopicLayoutError(f"topics with the wrong cleanup.policy: {found}")
        missing = [spec for spec in specs if spec.name not in existing]
        # one created meanwhile by another process is checked below
        created = await topic_admin.create_missing(admin, settings, missing)
        await topic_admin.wait_for_leaders(admin, names)
        if missing:
            existing = await _all_described(admin, names)
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
    """Create the delivery topic of ``authority`` when missing; returns its name
    (``rps.topic_admin.ensure_delivery_topic``, with infra's errors)."""
    try:
        return await topic_admin.ensure_delivery_topic(settings, authority)
    except topic_admin.TopicAdminError as error:
        raise ServiceError(str(error)) from error
