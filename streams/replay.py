"""Rebuild resident state from the inbound topics and compare it with the live table.

The rebuild folds every inbound record with the same core the worker uses
(``streams.core.fold``); the live state is the latest value per resident on
the worker's changelog topic. Because the merge rule is a semilattice, the two
must be equal whatever order the records were read in.

The comparison is two-level: a digest per partition (of the sorted
per-resident ``state_digest``s), then, only inside partitions whose digests
differ, the residents that differ. A replay from a given time cannot rebuild
whole states; it checks inclusion instead: every event read since then must be
in the live state of its resident, with the same fingerprint.

``rebuild_live`` writes the rebuilt states back as the new latest values of
the changelog, for a recovery; it is refused while any worker of the group is
running (``RebuildRefused``, a ``streams.errors.StreamsError``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

import schemas
from rps.producing import TrackingProducer
from rps.reading import partitions_of, read_to_end
from rps.settings import Settings
from schemas.topics import Topics
from streams import codec
from streams.app import faust_id
from streams.audit_chain import is_reserved
from streams.core import EMPTY, Fact, Profile, ResidentState, SubscriptionChange, fold
from streams.errors import StreamsError

Progress = Callable[[int], None]
"""Told how many more inbound records were read."""


class RebuildRefused(StreamsError):
    """The live state may not be rewritten now (a worker is running, or the replay was partial)."""


def changelog_topic(settings: Settings) -> str:
    """The worker's profile table changelog."""
    return f"{faust_id(settings)}-profiles-changelog"


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """States folded from the inbound topics, and how many records were read."""

    states: dict[str, ResidentState]
    events: int
    rejected: int
    partitions: dict[str, int] = field(default_factory=dict)
    """The inbound partition of each resident (where its changelog record belongs)."""


async def inbound_total(settings: Settings, since: datetime | None = None) -> int:
    """How many inbound records a replay (from ``since``) will read: for a progress bar."""
    consumer = await _consumer(settings)
    try:
        total = 0
        for tp, (start, end) in (await _ranges(consumer, settings, since)).items():
            del tp
            total += max(0, end - start)
        return total
    finally:
        await consumer.stop()


async def rebuild(
    settings: Settings, since: datetime | None = None, progress: Progress | None = None
) -> Rebuilt:
    """Fold every valid inbound record (from ``since``) into a fresh state per resident."""
    facts: dict[str, list[Fact]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(lambda: [0])  # bytes read so far, a bound on state
    where: dict[str, int] = {}
    events = rejected = 0
    async for batch in _scan(settings, since):
        for record in batch:
            events += 1
            try:
                fact = codec.decode_inbound(record.value, record.headers or ())
            except schemas.InvalidEvent:
                rejected += 1
                continue
            if (
                isinstance(fact, SubscriptionChange)
                or (record.key or b"") != fact.resident.encode()
            ):
                rejected += 1
                continue
            facts[fact.resident].append(fact)  # type: ignore[arg-type]
            read = len(record.value) + sum(len(k) + len(v) for k, v in record.headers or ())
            sizes[fact.resident].append(sizes[fact.resident][-1] + read + 512)
            where.setdefault(fact.resident, record.partition)
        if progress is not None:
            progress(len(batch))
    states: dict[str, ResidentState] = {}
    for resident, items in facts.items():
        state = EMPTY
        for n, fact in enumerate(items):
            if fact.id in state.seen and state.seen[fact.id] != fact.digest:
                continue  # an id reused for other content was refused live too
            folded = fold(state, fact)
            if sizes[resident][n + 1] > codec.MAX_STATE_BYTES // 2 and codec.state_too_large(
                resident, folded
            ):
                rejected += 1  # refused live too (state_too_large)
                continue
            state = folded
        states[resident] = state
    return Rebuilt(states, events, rejected, where)


async def live(settings: Settings) -> dict[str, Profile]:
    """The latest profile per resident on the worker's changelog."""
    return {r: codec.decode_profile(raw) for r, (raw, _) in (await _latest(settings)).items()}


async def _latest(settings: Settings) -> dict[str, tuple[bytes, int]]:
    """The latest stored value and its partition per resident (reserved keys left out)."""
    latest: dict[bytes, tuple[bytes | None, int]] = {}
    for record in await read_to_end(settings, changelog_topic(settings)):
        latest[record.key] = (record.value, record.partition)
    return {
        key.decode(): (value, partition)
        for key, (value, partition) in latest.items()
        if value and not is_reserved(key)
    }


def differences(rebuilt: dict[str, ResidentState], current: dict[str, Profile]) -> list[str]:
    """Residents whose rebuilt state differs from the live one (ids only)."""
    residents = set(rebuilt) | set(current)
    return sorted(
        r
        for r in residents
        if codec.state_digest(rebuilt.get(r, EMPTY))
        != codec.state_digest(current[r].state if r in current else EMPTY)
    )


def missing(rebuilt: dict[str, ResidentState], current: dict[str, Profile]) -> list[str]:
    """Residents some of whose replayed events are not in their live state (a partial replay)."""
    return sorted(
        r
        for r, state in rebuilt.items()
        if any(
            (current[r].state.seen.get(i) if r in current else None) != d
            for i, d in state.seen.items()
        )
    )


def partition_digests(digests: dict[str, str], partitions: dict[str, int]) -> dict[int, str]:
    """One digest per partition: of the sorted (resident, state digest) pairs it holds."""
    grouped: dict[int, list[str]] = defaultdict(list)
    for resident, digest in digests.items():
        grouped[partitions.get(resident, -1)].append(f"{resident}={digest}")
    return {
        p: hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()
        for p, items in grouped.items()
    }


@dataclass(frozen=True, slots=True)
class Comparison:
    """What a replay found: counts, the partitions whose digests differ, the residents that do."""

    residents: int
    events: int
    rejected: int
    partitions: int
    differing_partitions: list[int]
    differing: list[str]
    partial: bool
    rebuilt: Rebuilt


async def compare(
    settings: Settings, since: datetime | None = None, progress: Progress | None = None
) -> Comparison:
    """Replay the inbound topics (from ``since``) and compare with the live changelog."""
    rebuilt = await rebuild(settings, since, progress)
    stored = await _latest(settings)
    current = {r: codec.decode_profile(raw) for r, (raw, _) in stored.items()}
    if since is not None:
        found = missing(rebuilt.states, current)
        where = {r: rebuilt.partitions[r] for r in found}
        return Comparison(
            len(rebuilt.states),
            rebuilt.events,
            rebuilt.rejected,
            len(set(rebuilt.partitions.values())),
            sorted(set(where.values())),
            found,
            True,
            rebuilt,
        )
    where = {r: p for r, (_, p) in stored.items()} | rebuilt.partitions
    replayed = partition_digests(
        {r: codec.state_digest(s) for r, s in rebuilt.states.items()}, where
    )
    held = partition_digests({r: codec.state_digest(p.state) for r, p in current.items()}, where)
    differing_partitions = sorted(
        p for p in set(replayed) | set(held) if replayed.get(p) != held.get(p)
    )
    suspects = {r: s for r, s in rebuilt.states.items() if where[r] in differing_partitions}
    suspect_live = {r: p for r, p in current.items() if where[r] in differing_partitions}
    return Comparison(
        len(set(rebuilt.states) | set(current)),
        rebuilt.events,
        rebuilt.rejected,
        len(set(where.values())),
        differing_partitions,
        differences(suspects, suspect_live),
        False,
        rebuilt,
    )


async def active_members(settings: Settings) -> int:
    """How many members the worker's consumer group has now."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_consumer_groups([faust_id(settings)])
    finally:
        await admin.close()
    # DescribeGroups, every version: groups[i] = (error_code, group, state, protocol_type,
    # protocol, members, ...); an unknown group is reported as "Dead" with no members.
    return sum(len(group[5]) for group in described.groups)


async def rebuild_live(settings: Settings, comparison: Comparison) -> int:
    """Write the rebuilt states that differ as the new latest changelog values; how many.

    Holdings (what authorities were sent) and pending outboxes are kept from the live record
    where one exists; residents with no inbound event are removed. Refused while any worker of
    the group is running, and for a partial replay.
    """
    if comparison.partial:
        raise RebuildRefused("--rebuild needs a full replay: leave out --from")
    if await active_members(settings):
        raise RebuildRefused(
            f"consumer group {faust_id(settings)} has active members: stop every worker first"
        )
    stored = await _latest(settings)
    rebuilt = comparison.rebuilt
    producer = TrackingProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    written = 0
    try:
        topic = changelog_topic(settings)
        for resident in sorted(set(rebuilt.states) | set(stored)):
            key = resident.encode()
            if resident not in rebuilt.states:
                await producer.send(topic, None, key, partition=stored[resident][1])
                written += 1
                continue
            partition = rebuilt.partitions[resident]
            if resident in stored:
                old, outbox = codec.decode_stored(stored[resident][0])
                profile = Profile(resident, rebuilt.states[resident], old.holdings, old.sequence)
            else:
                profile, outbox = Profile(resident, rebuilt.states[resident]), {}
            if resident in stored and codec.state_digest(old.state) == codec.state_digest(
                profile.state
            ):
                continue  # equal already: leave the live record as it is
            value = codec.encode_profile(profile, outbox)
            await producer.send(topic, value, key, partition=partition)
            written += 1
        await producer.flush()
    finally:
        await producer.stop()
    return written


# -- reading -------------------------------------------------------------------------------


async def _consumer(settings: Settings) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **settings.kafka_client_options(),
    )
    await consumer.start()
    return consumer


async def _ranges(
    consumer: AIOKafkaConsumer, settings: Settings, since: datetime | None
) -> dict[TopicPartition, tuple[int, int]]:
    topics = Topics(settings.topic_prefix)
    partitions = [
        tp
        for topic in (topics.attributes, topics.consents)
        for tp in await partitions_of(settings, topic)
    ]
    if not partitions:
        return {}
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    if since is not None:
        found = await consumer.offsets_for_times(
            dict.fromkeys(partitions, int(since.timestamp() * 1000))
        )
        starts = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in partitions}
    return {tp: (starts[tp], ends[tp]) for tp in partitions}


async def _scan(settings: Settings, since: datetime | None) -> AsyncIterator[list[Any]]:
    """Batches of the inbound records, from ``since`` (or the start) to the end offsets now."""
    consumer = await _consumer(settings)
    try:
        ranges = {
            tp: r for tp, r in (await _ranges(consumer, settings, since)).items() if r[1] > r[0]
        }
        if not ranges:
            return
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
        remaining = set(ranges)
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, part in fetched.items():
                end = ranges[tp][1]
                kept = [r for r in part if r.offset < end]
                if kept:
                    yield kept
                if part and part[-1].offset + 1 >= end:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ranges[tp][1]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replay's comparison, and how many changelog records a ``--rebuild`` wrote (or None)."""

    comparison: Comparison
    written: int | None


async def replay(
    settings: Settings,
    since: datetime | None = None,
    *,
    rebuild_state: bool = False,
    on_total: Progress | None = None,
    on_read: Progress | None = None,
) -> Replayed:
    """`rps replay`: count, rebuild and compare; with ``rebuild_state``, write the result back."""
    if rebuild_state and since is not None:
        raise RebuildRefused("--rebuild needs a full replay: leave out --from")
    if rebuild_state and await active_members(settings):
        raise RebuildRefused(
            f"consumer group {faust_id(settings)} has active members: stop every worker first"
        )
    if on_total is not None:
        on_total(await inbound_total(settings, since))
    comparison = await compare(settings, since, on_read)
    written = await rebuild_live(settings, comparison) if rebuild_state else None
    return Replayed(comparison, written)
