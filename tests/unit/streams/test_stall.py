"""The worker's own account of what the agent was handed, which finds records it never got
and keeps every partition's records in order."""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections import deque

from hypothesis import example, given
from hypothesis import strategies as st

from streams.runtime.stall import REWIND, SKIP, TAKE, Handed

TP = ("attributes", 0)


@st.composite
def partitions(draw: st.DrawFn) -> tuple[list[int], int, set[int], int, int]:
    """A partition's log (offsets it holds, with holes where a transaction's marker or
    compaction left none), the committed offset the worker starts from, the records the
    consumer fetches and then drops once before the agent sees them, its fetch size, and
    how many records reach the agent between two looks of the guard's timer."""
    first = draw(st.integers(0, 1_000))
    span = draw(st.integers(1, 80))
    holes = draw(st.sets(st.integers(first, first + span - 1), max_size=span // 4))
    log = [o for o in range(first, first + span) if o not in holes] or [first]
    start = draw(st.integers(first, log[-1]))
    dropped = draw(st.sets(st.sampled_from(log), max_size=8))
    return log, start, dropped, draw(st.integers(1, 8)), draw(st.integers(1, 20))


def consume(
    log: list[int], start: int, dropped: set[int], fetch: int, tick: int
) -> tuple[list[int], int]:
    """Run a consumer over ``log`` from ``start``, as Faust feeds the agent: it fetches
    ``fetch`` records at a time; each record in ``dropped`` is lost once between the fetch
    and the agent; a seek takes effect for the next fetch, so records fetched before it
    still reach the agent. The guard's timer looks every ``tick`` records and whenever
    the consumer has nothing more: it seeks back partitions with a hole, and (when idle)
    partitions left behind. The offsets the agent processed (duplicates included), and
    the rewinds it asked for.
    """
    handed = Handed()
    handed.sought(TP, start)
    position = bisect_left(log, start)
    on_the_way: deque[int] = deque()
    lost: set[int] = set()
    taken: list[int] = []
    rewinds = 0
    steps = 0
    for _ in range(50 * len(log) + 500):  # bounded: a livelock fails the test
        idle = not on_the_way and position >= len(log)
        if idle or steps % tick == 0:  # the guard's timer
            for tp in list(handed.rewinding):
                position = bisect_left(log, handed.next[tp])
            if idle and not handed.rewinding:
                end = log[-1] + 1
                behind = handed.left_behind({TP: end}, {TP: end})
                if not behind:
                    break
                handed.sought(TP, behind[TP], by_guard=True)
                position = bisect_left(log, behind[TP])
        steps += 1
        if not on_the_way:
            batch, position = log[position : position + fetch], position + fetch
            for offset in batch:
                if offset in dropped and offset not in lost:
                    lost.add(offset)
                    continue
                on_the_way.append(offset)
            continue
        offset = on_the_way.popleft()
        verdict = handed.handing(TP, offset)
        if verdict == TAKE:
            taken.append(offset)
        elif verdict == REWIND:
            rewinds += 1
        else:
            assert verdict == SKIP
    else:
        raise AssertionError("the agent never caught up")
    return taken, rewinds


@given(partitions())
# Found with random seeds: a record read again by the timer's seek to an earlier hole,
# repeated while the first seek's records were on their way, ended the rewind of the next
# hole before its read began, and that hole was asked for once more.
@example(([1, 3, 4, 5, 6, 7, 8, 9, 10], 0, set(), 3, 13))
@example(([50, 51, 52, 54, 55, 56], 50, {51}, 3, 2))
@example(([0, 2, 3, 4], 0, {0}, 2, 3))
def test_the_agent_processes_every_record_once_and_in_order_whatever_the_consumer_drops(
    case: tuple[list[int], int, set[int], int, int],
) -> None:
    log, start, dropped, fetch, tick = case
    taken, rewinds = consume(log, start, dropped, fetch, tick)
    # Each record first processed in log order; a record read again after a seek that
    # overlapped the re-read comes again only after it (a duplicate, which changes nothing).
    assert list(dict.fromkeys(taken)) == [o for o in log if o >= start]
    expected = [start - 1] + [o for o in log if o >= start]  # a hole may open the log too
    holes = sum(1 for a, b in itertools.pairwise(expected) if b > a + 1)
    assert rewinds <= len(dropped) + holes  # one per drop or hole, at most


def test_a_record_beyond_a_hole_asks_for_a_rewind_and_later_ones_are_passed_over() -> None:
    handed = Handed()
    handed.sought(TP, 10)
    assert handed.handing(TP, 10) == TAKE
    assert handed.handing(TP, 14) == REWIND  # 11 to 13 never reached the agent
    assert handed.next[TP] == 11
    assert [handed.handing(TP, o) for o in (15, 16)] == [SKIP, SKIP]  # fetched before the seek
    assert [handed.handing(TP, o) for o in (11, 12, 13, 14, 15)] == [TAKE] * 5
    assert handed.next[TP] == 16
    assert not handed.rewinding


def test_offsets_the_log_does_not_hold_cost_one_rewind_and_are_not_asked_for_again() -> None:
    """A transaction's marker at 11: read again from 11, the log resumes at 12."""
    handed = Handed()
    handed.sought(TP, 10)
    verdicts = [handed.handing(TP, o) for o in (10, 12, 13, 12, 13, 14)]
    assert verdicts == [TAKE, REWIND, SKIP, TAKE, TAKE, TAKE]
    assert handed.next[TP] == 15


def test_a_record_from_before_the_seek_to_a_hole_does_not_end_its_rewind() -> None:
    """The timer sought back to 0 twice: the second read brings 0 again after the first
    read has found the next hole, at 1; only a record from 1 on says where the log resumes."""
    handed = Handed()
    handed.sought(TP, 0)
    assert handed.handing(TP, 0) == TAKE
    assert handed.handing(TP, 2) == REWIND  # 1 never reached the agent
    assert handed.handing(TP, 0) == TAKE  # the repeated read from 0: a duplicate
    assert handed.rewinding == {TP: 2}
    assert handed.handing(TP, 2) == TAKE  # read again from the hole: the log resumes at 2
    assert handed.next[TP] == 3
    assert not handed.rewinding


def test_a_record_from_before_the_guards_seek_is_not_where_the_log_resumes() -> None:
    handed = Handed()
    handed.sought(TP, 10, by_guard=True)
    assert handed.handing(TP, 7) == TAKE  # read before the seek: a duplicate
    assert handed.next[TP] == 10
    assert handed.handing(TP, 12) == TAKE  # 10 and 11 compacted away: the log resumes at 12
    assert handed.next[TP] == 13


def test_a_partition_is_left_behind_only_with_a_hole_and_a_position_standing_still() -> None:
    handed = Handed()
    handed.sought(TP, 0)
    for offset in range(5):  # 5 to 9 fetched and dropped, nothing after them
        assert handed.handing(TP, offset) == TAKE
    assert handed.left_behind({TP: 10}, {}) == {}  # the position has not been seen before
    assert handed.left_behind({TP: 10}, {TP: 9}) == {}  # it is still moving
    assert handed.left_behind({TP: 10}, {TP: 10}) == {TP: 5}
    assert handed.left_behind({TP: 5}, {TP: 5}) == {}  # nothing missing


@given(st.integers(0, 500), st.integers(0, 50), st.integers(1, 50))
def test_after_the_guard_seeks_the_first_record_handed_is_where_the_log_resumes(
    sought: int, gap: int, more: int
) -> None:
    """Offsets the log no longer holds (compaction, retention) are not asked for again."""
    handed = Handed()
    handed.sought(TP, sought, by_guard=True)
    resumed = sought + gap
    assert [handed.handing(TP, o) for o in range(resumed, resumed + more)] == [TAKE] * more
    assert handed.next[TP] == resumed + more
    assert handed.left_behind({TP: resumed + more}, {TP: resumed + more}) == {}


def test_a_seek_back_by_the_consumer_makes_records_again_wanted_and_duplicates_change_nothing() -> (
    None
):
    handed = Handed()
    handed.sought(TP, 10)
    for offset in (10, 11, 12):
        handed.handing(TP, offset)
    assert handed.handing(TP, 11) == TAKE  # read again
    assert handed.next[TP] == 13
    handed.sought(TP, 11)  # a rebalance sought back to the committed offset
    assert handed.next[TP] == 11
    assert handed.left_behind({TP: 13}, {TP: 13}) == {TP: 11}


def test_a_seek_ends_a_rewind_and_a_partition_never_sought_starts_with_its_first_record() -> None:
    handed = Handed()
    handed.sought(TP, 0)
    assert handed.handing(TP, 3) == REWIND
    assert handed.left_behind({TP: 4}, {TP: 4}) == {}  # the rewind's to seek, not the timer's
    handed.sought(TP, 0)  # a rebalance: the committed offset again
    assert not handed.rewinding
    other = ("consents", 1)
    assert handed.handing(other, 7) == TAKE
    assert handed.next[other] == 8
    handed.forget([TP, other])
    assert handed.left_behind({TP: 10, other: 10}, {TP: 10, other: 10}) == {}
