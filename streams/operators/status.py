"""What ``rps status`` reports: each consumer group on the product's topics (its state, its
members, its committed position and lag per partition), the dead letters by reason, and each
worker's readiness and state restore progress read from its health and metrics endpoints.

Groups are found by what they commit: any group with a committed offset on a
topic of the configured prefix (the workers, every subscriber, the read model).
Lag is the partition's end minus the group's committed offset (the whole
partition when nothing is committed yet).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from rps import topic_admin
from rps.settings import Settings
from streams.operators.deadletters import by_reason, list_dead_letters

__all__ = ["GroupStatus", "Member", "PartitionLag", "Status", "WorkerHealth", "status"]


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a group: its client id and host (never anything it processes)."""

    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


@dataclass(frozen=True, slots=True)
class GroupStatus:
    group: str
    state: str
    members: list[Member]
    partitions: list[PartitionLag]

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """A worker's answers on its metrics port (``None`` where it did not answer)."""

    url: str
    live: bool | None
    ready: bool | None
    unmet: list[str]
    restore_remaining: float | None


@dataclass(frozen=True, slots=True)
class Status:
    groups: list[GroupStatus]
    dead_letters: dict[str, int]
    redriven: int
    workers: list[WorkerHealth] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for group, shown in zip(self.groups, out["groups"], strict=True):
            shown["lag"] = group.lag
        return out


async def status(settings: Settings, worker_urls: list[str] | None = None) -> Status:
    """Everything ``rps status`` shows, read now."""
    groups = await _groups(settings)
    letters = await list_dead_letters(settings)
    workers = [await asyncio.to_thread(_worker_health, url) for url in worker_urls or []]
    return Status(
        groups=groups,
        dead_letters=by_reason(letters),
        redriven=sum(1 for letter in letters if letter.redriven_at is not None),
        workers=workers,
    )


async def _groups(settings: Settings) -> list[GroupStatus]:
    prefix = f"{settings.topic_prefix}."
    admin = await topic_admin.started_admin(settings)
    try:
        ids = sorted(str(group[0]) for group in await admin.list_consumer_groups())
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group_id in ids:
            offsets = await admin.list_consumer_group_offsets(group_id)
            ours = {tp: o.offset for tp, o in offsets.items() if tp.topic.startswith(prefix)}
            if ours:
                committed[group_id] = ours
        described = await admin.describe_consumer_groups(list(committed)) if committed else []
    finally:
        await admin.close()
    states: dict[str, tuple[str, list[Member]]] = {}
    for response in described:
        for group in response.to_object()["groups"]:
            members = [
                Member(m["member_id"], m["client_id"], m["client_host"]) for m in group["members"]
            ]
            states[group["group"]] = (group["state"], members)
    ends = await _ends({tp for offsets in committed.values() for tp in offsets}, settings)
    report = []
    for group_id, offsets in committed.items():
        state, members = states.get(group_id, ("Unknown", []))
        partitions = [
            PartitionLag(
                tp.topic,
                tp.partition,
                offset if offset >= 0 else None,
                ends.get(tp, 0),
                max(0, ends.get(tp, 0) - max(offset, 0)),
            )
            for tp, offset in sorted(offsets.items(), key=lambda i: (i[0].topic, i[0].partition))
        ]
        report.append(GroupStatus(group_id, state, members, partitions))
    return report


async def _ends(partitions: set[TopicPartition], settings: Settings) -> dict[TopicPartition, int]:
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_options())
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(list(partitions)))
    finally:
        await consumer.stop()


def _get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
    except OSError:
        return None


def _worker_health(url: str) -> WorkerHealth:
    """Read a worker's /livez, /readyz and /metrics at ``url`` (``http://host:port``)."""
    base = url.rstrip("/")
    live = _get(f"{base}/livez")
    ready = _get(f"{base}/readyz")
    unmet: list[str] = []
    if ready is not None:
        try:
            unmet = list(json.loads(ready[1]).get("unmet", []))
        except ValueError:
            unmet = ["unreadable"]
    remaining = None
    scraped = _get(f"{base}/metrics")
    if scraped is not None and scraped[0] == 200:
        for family in text_string_to_metric_families(scraped[1].decode()):
            if family.name == "rps_worker_restore_remaining_records":
                remaining = sum(sample.value for sample in family.samples)
    return WorkerHealth(
        url=base,
        live=None if live is None else live[0] == 200,
        ready=None if ready is None else ready[0] == 200,
        unmet=unmet,
        restore_remaining=remaining,
    )
