"""Rebuilding every resident's state from the facts log, as the worker built it live.

Each record of the facts log (``streams.worker.facts_log``) is opened with its
resident's data key from the hub's key store, then decoded and admitted by the
very function the worker uses (``streams.worker.inputs.decode``: the topic and
key checks and, with ``RPS_TRUST=enforce``, the signature and the role judged
at the record's original broker timestamp against the whole publisher registry,
read once, fresh for every stamp in the log), and folded per resident in log
order by :func:`replayed`, which follows the core's decisions: a fact seen
before changes nothing; an erasure ends the state as ``streams.core.erase``
does, and what it dropped (and the erasure itself) seen again changes nothing.

A record sealed under a forgotten key (an erased resident's, from before the
erasure) does not open: it is counted as ``forgotten`` and never folded. What
does not decode, or is refused, is counted as ``rejected``; the worker logs
only what it folded, so both stay at zero unless something is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rps.keystore import SqlKeyStore
from rps.registry import read_registry
from rps.sealing import DataKey, KeyForgotten, SealingError
from rps.settings import Settings
from schemas.registry import RegistryView
from schemas.topics import Topics
from streams.core import Erase, Input, Profile, Reevaluate, ResidentState, erase, fold
from streams.operators import scanning
from streams.worker import facts_log, inputs, stored
from streams.worker.errors import PoisonMessage

Progress = Callable[[int], None]
"""Told how many more facts log records were read."""

_OVERHEAD = 512  # bytes a fact adds to a stored state beyond its record's, at most


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """States folded from the facts log, and how many records were read."""

    states: dict[str, ResidentState]
    events: int
    rejected: int
    partitions: dict[str, int] = field(default_factory=dict)
    """The facts log partition of each resident (its changelog partition: co-partitioned)."""
    forgotten: int = 0
    """Records sealed under an erased resident's forgotten key: they do not open."""


class _WholeRegistry:
    """The registry read whole before the replay: fresh enough for every stamp in the log."""

    def __init__(self, view: RegistryView) -> None:
        self._view = view

    async def view_for(self, record_timestamp: dt.datetime) -> RegistryView:
        return self._view


class _Keys:
    """Each resident's data key, read from the key store once, a scanned batch's residents in
    one go (None: forgotten or none)."""

    def __init__(self, store: SqlKeyStore) -> None:
        self._store = store
        self._known: dict[str, DataKey | None] = {}

    async def read(self, residents: Iterable[str]) -> None:
        """Read the keys of those of ``residents`` not read before, in one go."""
        wanted = {r for r in residents if r not in self._known}
        if wanted:
            found = await self._store.get_many(wanted)
            self._known.update((r, found.get(r)) for r in wanted)

    async def of(self, resident: str) -> DataKey | None:
        await self.read([resident])
        return self._known[resident]


def replayed(
    resident: str, items: Sequence[Input], read: Sequence[int] | None = None
) -> tuple[ResidentState, int]:
    """One resident's state after ``items`` in log order, and how many were refused as too
    large (``read[n]``: bytes read for the resident up to and including ``items[n]``)."""
    profile = Profile(resident)
    refused = 0
    for n, item in enumerate(items):
        if item.id in profile.erased or isinstance(item, Reevaluate):
            continue  # dropped by an erasure (or the erasure again); a re-evaluation folds nothing
        if isinstance(item, Erase):
            profile = erase(profile, item).profile
            continue
        if item.id in profile.state.seen:
            continue  # seen before; an id reused for other content was refused live too
        folded = fold(profile.state, item)
        if (
            read is not None
            and read[n] > stored.MAX_STATE_BYTES // 2
            and stored.state_too_large(resident, folded)
        ):
            refused += 1  # refused live too (state_too_large)
            continue
        profile = replace(profile, state=folded)
    return profile.state, refused


async def rebuild(
    settings: Settings,
    since: datetime | None = None,
    progress: Progress | None = None,
    view: RegistryView | None = None,
) -> Rebuilt:
    """Fold every facts log record (from ``since``) into a fresh state per resident. With
    trust enforced, records are judged by ``view`` (the registry is read when none is given)."""
    if settings.trust != "enforce":
        view = None
    elif view is None:
        view = await read_registry(settings)
    store = await SqlKeyStore.open(settings)
    try:
        return await _rebuild(settings, since, progress, _Keys(store), view)
    finally:
        await store.close()


async def _rebuild(
    settings: Settings,
    since: datetime | None,
    progress: Progress | None,
    keys: _Keys,
    view: RegistryView | None,
) -> Rebuilt:
    topics = Topics(settings.topic_prefix)
    registry = None if view is None else _WholeRegistry(view)
    items: dict[str, list[Input]] = defaultdict(list)
    read: dict[str, list[int]] = defaultdict(list)  # bytes read so far, a bound on state
    where: dict[str, int] = {}
    events = rejected = forgotten = 0
    async for batch in scanning.scan(settings, since):
        await keys.read(r.key.decode("utf-8", "replace") for r in batch if r.key)
        for record in batch:
            events += 1
            try:
                fact = facts_log.decode(record.value)
            except facts_log.FactsLogError:
                rejected += 1
                continue
            if (record.key or b"") != fact.resident.encode():
                rejected += 1
                continue
            resident = fact.resident
            where.setdefault(resident, record.partition)
            items.setdefault(resident, [])
            item: Input | None = fact.erasure()
            size = _OVERHEAD
            if item is None:
                try:
                    value, headers = facts_log.opened(fact, await keys.of(resident))
                except KeyForgotten:
                    forgotten += 1
                    continue
                except SealingError:
                    rejected += 1
                    continue
                original = facts_log.original(fact, record.key, value, headers, record.partition)
                try:
                    item, _ = await inputs.decode(original, topics, registry)
                except PoisonMessage:
                    rejected += 1
                    continue
                size += len(value) + sum(len(k) + len(v) for k, v in headers)
            items[resident].append(item)
            read[resident].append((read[resident][-1] if read[resident] else 0) + size)
        if progress is not None:
            progress(len(batch))
    states: dict[str, ResidentState] = {}
    for resident, folded in items.items():
        states[resident], refused = replayed(resident, folded, read[resident])
        rejected += refused
    return Rebuilt(states, events, rejected, where, forgotten)
