"""Rebuild resident state from the facts log and compare it with the live table.

The rebuild (:mod:`streams.operators.rebuilding`) opens every record of the
facts log with its resident's data key, admits it exactly as the worker did
and folds it with the same core; the live state is the latest value per
resident on the worker's changelog topic. Because the merge rule is a
semilattice, the two must be equal whatever order the records were read in. An
erased resident's records no longer open (their key is forgotten) and the
erasure on the log ends their state, as it did live, so nothing is rebuilt for
them. The inbound topics themselves are not read: they keep records for days,
the facts log for ever.

The comparison is two-level: a digest per partition (of the sorted
per-resident ``state_digest``s), then, only inside partitions whose digests
differ, the residents that differ. A replay from a given time cannot rebuild
whole states; it checks inclusion instead: every event read since then must be
in the live state of its resident, with the same fingerprint.

With trust enforced (``RPS_TRUST=enforce``), every facts log record must be
admitted exactly as the worker admits it, judged at its original broker
timestamp against the whole registry topic, read once (fresh for every stamp in
the log); what live refused, replay refuses. The
subscription changes are judged too, and the audit record of each refused one
must be in the live trail as the worker wrote it (``streams.operators.refusals``).

``rebuild_live`` writes the rebuilt states back as the new latest values of
the changelog, for a recovery; it is refused while any worker of the group is
running (``RebuildRefused``, a ``streams.worker.errors.StreamsError``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka.admin import AIOKafkaAdminClient

from rps.keystore import SqlKeyStore
from rps.producing import TrackingProducer
from rps.reading import read_to_end
from rps.registry import read_registry
from rps.settings import Settings
from streams.core import EMPTY, Profile, ResidentState
from streams.operators import refusals
from streams.operators.rebuilding import Progress, Rebuilt, rebuild
from streams.operators.refusals import Refusals
from streams.operators.scanning import facts_total
from streams.runtime.names import changelog_topic, faust_id
from streams.worker import stored
from streams.worker.errors import StreamsError
from streams.worker.keeping import carried

__all__ = [
    "Comparison",
    "Progress",
    "RebuildRefused",
    "Rebuilt",
    "Replayed",
    "active_members",
    "compare",
    "differences",
    "live",
    "missing",
    "partition_digests",
    "rebuild",
    "rebuild_live",
    "replay",
]


class RebuildRefused(StreamsError):
    """The live state may not be rewritten now (a worker is running, or the replay was partial)."""


async def live(settings: Settings) -> dict[str, Profile]:
    """The latest profile per resident on the worker's changelog."""
    return {r: stored.decode_profile(raw) for r, (raw, _) in (await _latest(settings)).items()}


async def _latest(settings: Settings) -> dict[str, tuple[bytes, int]]:
    """The latest stored value and its partition per resident (chain heads and outbox entries
    left out)."""
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


_NOTHING = stored.state_digest(EMPTY)


def partition_digests(digests: dict[str, str], partitions: dict[str, int]) -> dict[int, str]:
    """One digest per partition: of the sorted (resident, state digest) pairs it holds. A
    resident with no state (an erased one) counts as absent, as in :func:`differences`."""
    grouped: dict[int, list[str]] = defaultdict(list)
    for resident, digest in digests.items():
        if digest != _NOTHING:
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
    refusals: Refusals = field(default_factory=Refusals)
    """The refused subscription changes, and any whose audit record live lacks."""


async def compare(
    settings: Settings, since: datetime | None = None, progress: Progress | None = None
) -> Comparison:
    """Replay the facts log (from ``since``) and compare with the live changelog."""
    latest = await _latest(settings)
    current = {r: stored.decode_profile(raw) for r, (raw, _) in latest.items()}
    view = await read_registry(settings) if settings.trust == "enforce" else None
    rebuilt = await rebuild(settings, since, progress, view)
    refused = Refusals() if view is None else await refusals.check(settings, view, since)
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
            refused,
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
        refused,
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
    kept inside it, are moved under theirs); residents with nothing on the facts log are
    removed. With ``RPS_SEAL_PROFILES`` the values written are sealed under each resident's
    data key, as the worker stores them. Refused while any worker of the group is running,
    and for a partial replay.
    """
    if comparison.partial:
        raise RebuildRefused("--rebuild needs a full replay: leave out --from")
    if await active_members(settings):
        raise RebuildRefused(
            f"consumer group {faust_id(settings)} has active members: stop every worker first"
        )
    latest = await _latest(settings)
    rebuilt = comparison.rebuilt
    keys = await SqlKeyStore.open(settings) if settings.seal_profiles else None
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
            profile, outbox = _with_live(resident, rebuilt.states[resident], latest)
            if resident in latest and stored.state_digest(
                stored.decode_profile(latest[resident][0]).state
            ) == stored.state_digest(profile.state):
                continue  # equal already: leave the live record as it is
            partition = rebuilt.partitions[resident]
            for entry, kept in carried(profile, outbox):  # a first-format profile's entries
                await producer.send(topic, kept, entry, partition=partition)
            data_key = await keys.get(resident) if keys is not None else None
            value = stored.encode_profile(profile, data_key)
            await producer.send(topic, value, key, partition=partition)
            written += 1
        await producer.flush()
    finally:
        await producer.stop()
        if keys is not None:
            await keys.close()
    return written


def _with_live(
    resident: str, state: ResidentState, latest: dict[str, tuple[bytes, int]]
) -> tuple[Profile, stored.Outbox]:
    """The rebuilt ``state`` with what the live record holds besides it (holdings, decision
    count, erased ids, a first-format record's outbox), or alone when there is no live record."""
    if resident not in latest:
        return Profile(resident, state), {}
    old, outbox = stored.decode_stored(latest[resident][0])
    return Profile(resident, state, old.holdings, old.sequence, old.erased), outbox


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
        on_total(await facts_total(settings, since))
    comparison = await compare(settings, since, on_read)
    written = await rebuild_live(settings, comparison) if rebuild_state else None
    return Replayed(comparison, written)
