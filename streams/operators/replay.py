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

With trust enforced (``RPS_TRUST=enforce``), every record must be admitted
exactly as the worker admits it (``streams.worker.trust.admit_record``), judged
at its stored broker timestamp against the whole registry topic, read once
(fresh for every stamp in the log); what live refused, replay refuses.

``rebuild_live`` writes the rebuilt states back as the new latest values of
the changelog, for a recovery; it is refused while any worker of the group is
running (``RebuildRefused``, a ``streams.worker.errors.StreamsError``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka.admin import AIOKafkaAdminClient

import schemas
from rps.producing import TrackingProducer
from rps.reading import read_to_end
from rps.registry import read_registry
from rps.settings import Settings
from streams.core import EMPTY, Fact, Profile, ResidentState, SubscriptionChange, fold
from streams.operators import scanning
from streams.operators.scanning import inbound_total
from streams.runtime.names import changelog_topic, faust_id
from streams.worker import codec, stored, trust
from streams.worker.errors import StreamsError
from streams.worker.keeping import carried

Progress = Callable[[int], None]
"""Told how many more inbound records were read."""


class RebuildRefused(StreamsError):
    """The live state may not be rewritten now (a worker is running, or the replay was partial)."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """States folded from the inbound topics, and how many records were read."""

    states: dict[str, ResidentState]
    events: int
    rejected: int
    partitions: dict[str, int] = field(default_factory=dict)
    """The inbound partition of each resident (where its changelog record belongs)."""


async def rebuild(
    settings: Settings,
    since: datetime | None = None,
    progress: Progress | None = None,
    erased: Mapping[str, frozenset[str]] | None = None,
) -> Rebuilt:
    """Fold every valid inbound record (from ``since``) into a fresh state per resident,
    leaving out the inputs an erasure dropped (``erased``: their ids, by resident)."""
    erased = erased or {}
    facts: dict[str, list[Fact]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(lambda: [0])  # bytes read so far, a bound on state
    where: dict[str, int] = {}
    events = rejected = 0
    view = await read_registry(settings) if settings.trust == "enforce" else None
    async for batch in scanning.scan(settings, since):
        for record in batch:
            events += 1
            try:
                if view is None:
                    fact = codec.decode_inbound(record.value, record.headers or ())
                else:
                    stamp = trust.record_time(record.timestamp)
                    verdict = trust.admit_record(record.value, record.headers or (), stamp, view)
                    if isinstance(verdict, trust.Rejected):
                        rejected += 1
                        continue
                    fact = codec.to_fact(verdict[0])
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
        dropped = erased.get(resident, frozenset())
        for n, fact in enumerate(items):
            if fact.id in dropped:
                continue  # erased: rebuilt as nothing
            if fact.id in state.seen and state.seen[fact.id] != fact.digest:
                continue  # an id reused for other content was refused live too
            folded = fold(state, fact)
            if sizes[resident][n + 1] > stored.MAX_STATE_BYTES // 2 and stored.state_too_large(
                resident, folded
            ):
                rejected += 1  # refused live too (state_too_large)
                continue
            state = folded
        states[resident] = state
    return Rebuilt(states, events, rejected, where)


async def live(settings: Settings) -> dict[str, Profile]:
    """The latest profile per resident on the worker's changelog."""
    return {r: stored.decode_profile(raw) for r, (raw, _) in (await _latest(settings)).items()}


async def _latest(settings: Settings) -> dict[str, tuple[bytes, int]]:
    """The latest stored value and its partition per resident (reserved keys left out)."""
    latest: dict[bytes, tuple[bytes | None, int]] = {}
    for record in await read_to_end(settings, changelog_topic(settings)):
        latest[record.key] = (record.value, record.partition)
    return {
        key.decode(): (value, partition)
        for key, (value, partition) in latest.items()
        if value and stored.is_profile_key(key)
    }


def differences(rebuilt: dict[str, ResidentState], current: dict[str, Profile]) -> list[str]:
    """Residents whose rebuilt state differs from the live one (ids only)."""
    residents = set(rebuilt) | set(current)
    return sorted(
        r
        for r in residents
        if stored.state_digest(rebuilt.get(r, EMPTY))
        != stored.state_digest(current[r].state if r in current else EMPTY)
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
    latest = await _latest(settings)
    current = {r: stored.decode_profile(raw) for r, (raw, _) in latest.items()}
    erased = {r: p.erased for r, p in current.items() if p.erased}
    rebuilt = await rebuild(settings, since, progress, erased)
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
    where = {r: p for r, (_, p) in latest.items()} | rebuilt.partitions
    replayed = partition_digests(
        {r: stored.state_digest(s) for r, s in rebuilt.states.items()}, where
    )
    held = partition_digests({r: stored.state_digest(p.state) for r, p in current.items()}, where)
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

    Holdings (what authorities were sent) are kept from the live record where one exists;
    outbox entries, under keys of their own, are left as they are (a first-format record's,
    kept inside it, are moved under theirs); residents with no inbound event are removed.
    Refused while any worker of the group is running, and for a partial replay.
    """
    if comparison.partial:
        raise RebuildRefused("--rebuild needs a full replay: leave out --from")
    if await active_members(settings):
        raise RebuildRefused(
            f"consumer group {faust_id(settings)} has active members: stop every worker first"
        )
    latest = await _latest(settings)
    rebuilt = comparison.rebuilt
    producer = TrackingProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    written = 0
    try:
        topic = changelog_topic(settings)
        for resident in sorted(set(rebuilt.states) | set(latest)):
            key = resident.encode()
            if resident not in rebuilt.states:
                await producer.send(topic, None, key, partition=latest[resident][1])
                written += 1
                continue
            partition = rebuilt.partitions[resident]
            if resident in latest:
                old, outbox = stored.decode_stored(latest[resident][0])
                profile = Profile(
                    resident, rebuilt.states[resident], old.holdings, old.sequence, old.erased
                )
            else:
                profile, outbox = Profile(resident, rebuilt.states[resident]), {}
            if resident in latest and stored.state_digest(old.state) == stored.state_digest(
                profile.state
            ):
                continue  # equal already: leave the live record as it is
            for entry, kept in carried(profile, outbox):  # a first-format profile's entries
                await producer.send(topic, kept, entry, partition=partition)
            await producer.send(topic, stored.encode_profile(profile), key, partition=partition)
            written += 1
        await producer.flush()
    finally:
        await producer.stop()
    return written


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
