"""The worker's own account of what the agent was handed, which finds records it never got."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.stall import Handed

TP = ("attributes", 0)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[int, int, list[int], set[int]]:
    """A start offset, an end, the order records were handed in (duplicates allowed), and
    the offsets that never were."""
    start = draw(st.integers(0, 1_000))
    end = start + draw(st.integers(1, 60))
    offsets = list(range(start, end))
    missing = draw(st.sets(st.sampled_from(offsets), max_size=5))
    handed = [o for o in offsets if o not in missing]
    handed += draw(
        st.lists(st.sampled_from(offsets), max_size=10).map(
            lambda d: [o for o in d if o not in missing]
        )
    )
    return start, end, draw(st.permutations(handed)), missing


def _handed_from(start: int, order: list[int]) -> Handed:
    """The account after a seek to ``start`` and ``order`` handed over."""
    handed = Handed()
    handed.sought(TP, start)
    for offset in order:
        handed.handing(TP, offset)
    return handed


@given(deliveries())
def test_the_next_wanted_offset_is_the_first_record_never_handed(
    case: tuple[int, int, list[int], set[int]],
) -> None:
    start, end, order, missing = case
    handed = _handed_from(start, order)
    assert handed.next[TP] == min(missing, default=end)


@given(deliveries())
def test_a_partition_is_left_behind_only_with_a_hole_and_a_position_standing_still(
    case: tuple[int, int, list[int], set[int]],
) -> None:
    start, end, order, missing = case
    handed = _handed_from(start, order)
    assert handed.left_behind({TP: end}, {}) == {}  # the position has not been seen before
    behind = handed.left_behind({TP: end}, {TP: end})
    assert behind == ({TP: min(missing)} if missing else {})
    assert handed.left_behind({TP: end}, {TP: end - 1}) == {}  # it is still moving


@given(st.integers(0, 500), st.integers(0, 50), st.integers(1, 50))
def test_after_the_guard_seeks_the_first_record_handed_is_where_the_log_resumes(
    sought: int, gap: int, more: int
) -> None:
    """Offsets the log no longer holds (compaction, retention) are not asked for again."""
    handed = Handed()
    handed.sought(TP, sought, by_guard=True)
    resumed = sought + gap
    for offset in range(resumed, resumed + more):
        handed.handing(TP, offset)
    assert handed.next[TP] == resumed + more
    assert handed.left_behind({TP: resumed + more}, {TP: resumed + more}) == {}


def test_a_seek_back_by_the_consumer_makes_records_again_wanted_and_duplicates_change_nothing() -> (
    None
):
    handed = Handed()
    handed.sought(TP, 10)
    for offset in (10, 11, 12):
        handed.handing(TP, offset)
    handed.handing(TP, 11)  # read again
    assert handed.next[TP] == 13
    handed.sought(TP, 11)  # a rebalance sought back to the committed offset
    assert handed.next[TP] == 11
    assert handed.left_behind({TP: 13}, {TP: 13}) == {TP: 11}


def test_a_partition_never_sought_starts_with_its_first_record_and_revoked_ones_are_forgotten() -> (
    None
):
    handed = Handed()
    handed.handing(TP, 7)
    handed.handing(TP, 9)
    assert handed.left_behind({TP: 10}, {TP: 10}) == {TP: 8}
    handed.forget([TP])
    assert handed.left_behind({TP: 10}, {TP: 10}) == {}


def test_offsets_kept_past_a_hole_are_bounded_and_the_hole_still_found() -> None:
    """A hole through a long busy spell keeps at most ``limit`` later offsets in memory."""
    handed = Handed(limit=3)
    handed.sought(TP, 0)
    for offset in range(1, 1_000):  # offset 0 never handed
        handed.handing(TP, offset)
    assert len(handed.ahead[TP]) == 3
    assert handed.left_behind({TP: 1_000}, {TP: 1_000}) == {TP: 0}
    handed.handing(TP, 0)  # the hole fills: the account moves over what it kept, no further
    assert handed.next[TP] == 4
