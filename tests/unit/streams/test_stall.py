"""The worker's own account of what the agent was handed, which finds records it never got
and keeps every partition's records in order."""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections import deque
from collections.abc import Hashable

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
    ``fetch`` records at a time, and its fetcher hands a batch on record by record into the
    agent's buffer (room for ``fetch``), but only a record at or above the last offset it
    handed on (a seek sets that mark to the offset sought); each record in ``dropped`` is
    lost once between the fetcher and the agent. The guard's timer looks every ``tick``
    steps and whenever the consumer has nothing more: it asks for partitions with a hole to
    be sought back, and (when idle) partitions left behind; the guard seeks at the next
    fetch, once the batch before it is handed on, and notes the first record fetched. The
    offsets the agent processed (duplicates included), and the rewinds it asked for.
    """
    handed = Handed()
    handed.sought(TP, start)
    position = bisect_left(log, start)
    mark: int | None = start or None  # Faust's read offset
    batch: deque[int] = deque()
    buffer: deque[int] = deque()
    asked: dict[Hashable, int] = {}
    reading = False
    lost: set[int] = set()
    taken: list[int] = []
    rewinds = 0
    steps = 0
    for _ in range(50 * len(log) + 500):  # bounded: a livelock fails the test
        idle = not batch and not buffer and position >= len(log)
        if idle or steps % tick == 0:  # the guard's timer
            asked.update({tp: 0 for tp in handed.rewinding})
            if idle and not handed.rewinding:
                end = log[-1] + 1
                behind = handed.left_behind({TP: end}, {TP: end})
                if not behind:
                    break
                handed.hold(TP)
                asked[TP] = behind[TP]
        steps += 1
        if not batch and (position < len(log) or asked):  # a fetch
            if TP in asked and TP in handed.rewinding:  # the guard's seek, between batches
                mark = max(handed.next[TP], asked[TP]) or None
                position, reading = bisect_left(log, mark or 0), True
            asked.clear()
            batch.extend(log[position : position + fetch])
            position += fetch
            if reading and batch:
                handed.resumed(TP, batch[0])
                reading = False
            continue
        if batch and len(buffer) < fetch:  # the fetcher hands a record on
            offset = batch.popleft()
            if mark is not None and offset < mark:
                continue  # below the last offset handed on: Faust drops it
            mark = offset
            if offset in dropped and offset not in lost:
                lost.add(offset)
            else:
                buffer.append(offset)
            continue
        offset = buffer.popleft()
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
    assert [handed.handing(TP, o) for o in (10, 12, 13)] == [TAKE, REWIND, SKIP]
    handed.resumed(TP, 12)  # the guard's read from 11 fetched 12 first
    assert [handed.handing(TP, o) for o in (12, 13, 14)] == [TAKE, TAKE, TAKE]
    assert handed.next[TP] == 15
    assert not handed.rewinding


def test_a_record_from_before_the_seek_to_a_hole_does_not_end_its_rewind() -> None:
    """The timer sought back to 0 twice: the second read brings 0 again after the first
    read has found the next hole, at 1; only the read from 1 says where the log resumes."""
    handed = Handed()
    handed.sought(TP, 0)
    assert handed.handing(TP, 0) == TAKE
    assert handed.handing(TP, 2) == REWIND  # 1 never reached the agent
    assert handed.handing(TP, 0) == TAKE  # the repeated read from 0: a duplicate
    assert handed.rewinding == {TP: 2}
    handed.resumed(TP, 2)  # the guard's read from 1 fetched 2 first: the log holds no 1
    assert handed.handing(TP, 2) == TAKE  # read again from the hole: the log resumes at 2
    assert handed.next[TP] == 3
    assert not handed.rewinding


def test_a_record_faust_hands_again_after_dropping_the_read_below_it_does_not_end_a_rewind() -> (
    None
):
    """The full kill test's loss. 13 to 17 never reached the agent; the guard sought back to
    13 while Faust's fetcher was still handing on a batch fetched before the seek, up to
    2159. It then dropped the read from 13 below the last offset it had handed on, and handed
    2159 again. Taken as where the log resumes, that left 13 to 2158 never decided (and
    Faust's gap over them let them be committed)."""
    handed = Handed()
    handed.sought(TP, 0)
    assert [handed.handing(TP, o) for o in range(13)] == [TAKE] * 13
    assert handed.handing(TP, 18) == REWIND
    assert {handed.handing(TP, o) for o in range(19, 2160)} == {SKIP}
    assert handed.handing(TP, 2159) == SKIP  # handed on again, not read from the hole
    assert handed.next[TP] == 13
    assert handed.rewinding == {TP: 2159}
    handed.resumed(TP, 13)  # the guard's read from 13, sought between two fetches
    assert [handed.handing(TP, o) for o in range(13, 2161)] == [TAKE] * 2148
    assert handed.next[TP] == 2161
    assert not handed.rewinding


def test_a_record_from_before_the_guards_seek_is_not_where_the_log_resumes() -> None:
    handed = Handed()
    handed.sought(TP, 10)
    handed.hold(TP)  # left behind: the guard seeks back to 10
    assert handed.handing(TP, 7) == TAKE  # read before the seek: a duplicate
    assert handed.next[TP] == 10
    assert handed.handing(TP, 15) == SKIP  # fetched before the seek: it comes again
    handed.resumed(TP, 12)  # 10 and 11 compacted away: the read from 10 fetched 12 first
    assert handed.handing(TP, 12) == TAKE
    assert handed.next[TP] == 13
    assert not handed.rewinding


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
def test_after_the_guards_seek_the_first_record_its_read_fetched_is_where_the_log_resumes(
    sought: int, gap: int, more: int
) -> None:
    """Offsets the log no longer holds (compaction, retention) are not asked for again."""
    handed = Handed()
    handed.sought(TP, sought)
    handed.hold(TP)
    resumed = sought + gap
    handed.resumed(TP, resumed)
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
