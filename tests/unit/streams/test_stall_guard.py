"""The stall guard on a consumer standing in for Faust's: it seeks a partition back to its hole
only between two fetches, and the read's first record fetched is where the log resumes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.runtime.stall import StallGuard

INPUT = TP("attributes", 0)


class Consumer:
    """What the guard uses of Faust's consumer; each fetch returns the next batch given."""

    def __init__(self, *batches: Mapping[TP, list[int]]) -> None:
        self.flow_active = True
        self._gap: dict[TP, Any] = {}
        self._batches = list(batches)
        self.seeks: list[dict[TP, int]] = []
        self.fetches = 0

    def assignment(self) -> set[TP]:
        return {INPUT}

    async def seek_wait(self, offsets: Mapping[TP, int]) -> None:
        self.seeks.append(dict(offsets))

    async def _getmany(self, **_: Any) -> dict[TP, list[Any]]:  # as Faust calls it
        self.fetches += 1
        batch = self._batches.pop(0)
        return {tp: [SimpleNamespace(offset=o) for o in offsets] for tp, offsets in batch.items()}


def guard_on(consumer: Consumer) -> StallGuard:
    guard = StallGuard(SimpleNamespace(consumer=consumer), {INPUT.topic}, lambda: True)
    guard.attach()
    guard.sought({INPUT: 10})
    return guard


async def fetch(consumer: Any) -> Any:
    return await consumer._getmany(active_partitions={INPUT}, timeout=1.0)


async def test_a_hole_is_sought_at_the_next_fetch_and_its_read_says_where_the_log_resumes() -> None:
    consumer = Consumer({INPUT: [12, 13, 14]})
    guard = guard_on(consumer)
    assert guard.handing(INPUT, 10)
    assert not guard.handing(INPUT, 14)  # 11 to 13 never reached the agent
    await guard.check()
    assert consumer.seeks == []  # not while the fetcher may still hand on its batch
    await fetch(consumer)
    assert consumer.seeks == [{INPUT: 11}]
    assert guard.handed.resumes == {INPUT: 12}  # the log holds no 11
    assert not guard.handing(INPUT, 15)  # handed on from the batch before the seek
    assert [guard.handing(INPUT, o) for o in (12, 13, 14, 15)] == [True] * 4
    assert not guard.handed.rewinding


async def test_the_first_record_of_a_fetch_after_the_seek_counts_not_one_handed_on_before_it() -> (
    None
):
    consumer = Consumer({}, {INPUT: [11, 12]})  # the first fetch brings nothing of the input
    guard = guard_on(consumer)
    assert guard.handing(INPUT, 10)
    assert not guard.handing(INPUT, 13)
    await guard.check()
    await fetch(consumer)
    assert guard.handed.resumes == {}
    assert not guard.handing(INPUT, 13)  # handed on again by Faust: it says nothing
    await fetch(consumer)
    assert consumer.seeks == [{INPUT: 11}]  # sought once; the read went on
    assert guard.handed.resumes == {INPUT: 11}
    assert [guard.handing(INPUT, o) for o in (11, 12, 13)] == [True] * 3


async def test_no_seek_is_made_for_a_hole_read_meanwhile_or_in_a_rebalance() -> None:
    consumer = Consumer({INPUT: [14]}, {INPUT: [15]})
    guard = guard_on(consumer)
    assert guard.handing(INPUT, 10)
    assert not guard.handing(INPUT, 12)
    await guard.check()
    assert guard.handing(INPUT, 11)  # the hole arrived before the fetch: nothing to seek
    await fetch(consumer)
    assert not guard.handing(INPUT, 13)
    await guard.check()
    consumer.flow_active = False  # a rebalance began: it seeks every partition itself
    await fetch(consumer)
    assert consumer.seeks == []
    assert consumer.fetches == 2


async def test_every_fetched_batch_is_shown_to_the_fetch_hooks_after_the_seeks() -> None:
    """The guard's one wrapper of the fetch shows each batch, as fetched, to the hooks it was
    given (the worker's keys read ahead), after it made the seeks asked for."""
    consumer = Consumer({INPUT: [12, 13]}, {INPUT: [14]})
    shown: list[tuple[int, list[int]]] = []
    guard = StallGuard(SimpleNamespace(consumer=consumer), {INPUT.topic}, lambda: True)

    def hook(records: Mapping[Any, Sequence[Any]]) -> None:
        shown.append((len(consumer.seeks), [r.offset for r in records[INPUT]]))

    guard.attach(hook)
    guard.sought({INPUT: 10})
    assert guard.handing(INPUT, 10)
    assert not guard.handing(INPUT, 14)
    await guard.check()
    await fetch(consumer)
    await fetch(consumer)
    assert shown == [(1, [12, 13]), (1, [14])]
