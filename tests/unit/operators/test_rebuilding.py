"""Replay's fold of the facts log equals the live state the core decided, erasures included:
whatever the worker appended (each input that changed the state, each erasure), and however
often a record was sent again after a restart, folding the log in order gives the state live
holds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import EMPTY, Directory, Erase, Fact, Input, Profile, decide
from streams.operators.rebuilding import replayed
from tests.unit.core.strategies import NOW, RESIDENT, directories, shuffled_with_repeats, worlds


@st.composite
def lives(draw: st.DrawFn, facts: list[Fact]) -> list[Input]:
    """What the worker is handed: the facts, repeated and reordered, with erasures among them."""
    inputs: list[Input] = list(draw(shuffled_with_repeats(facts)))
    for n in range(draw(st.integers(min_value=0, max_value=3))):
        inputs.insert(draw(st.integers(0, len(inputs))), Erase(f"erase-{n}", RESIDENT, "test"))
    return inputs


def live_and_log(inputs: list[Input], directory: Directory) -> tuple[Profile, list[Input]]:
    """The live profile after ``inputs``, and the facts log the worker appended on the way."""
    profile, log = Profile(RESIDENT), list[Input]()
    for item in inputs:
        before = profile
        profile = decide(profile, item, directory, NOW).profile
        erased = isinstance(item, Erase) and profile != before
        if erased or (item.id in profile.state.seen and item.id not in before.state.seen):
            log.append(item)
    return profile, log


@st.composite
def resent(draw: st.DrawFn, log: list[Input]) -> list[Input]:
    """The log with records sent again after restarts: a fact again before the next erasure
    (later it is no longer in the state, so it is never recalled), an erasure at any point."""
    out = list(log)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        if not log:
            break
        n = draw(st.integers(0, len(log) - 1))
        item = log[n]
        until = next(
            (m for m in range(n + 1, len(log)) if isinstance(log[m], Erase)),
            len(log),
        )
        if isinstance(item, Erase):
            until = len(log)
        at = draw(st.integers(n + 1, until))
        where = out.index(item) + (at - n)
        out.insert(min(where, len(out)), item)
    return out


@settings(max_examples=300, deadline=None)
@given(st.data(), worlds(), directories())
def test_folding_the_facts_log_gives_the_live_state(
    data: st.DataObject, facts: list[Fact], directory: Directory
) -> None:
    """Claims, retractions, consents, duplicates and erasures, decided live; the facts log
    the worker appended, with records resent after restarts, folds to the very live state."""
    live, log = live_and_log(data.draw(lives(facts)), directory)
    state, refused = replayed(RESIDENT, data.draw(resent(log)))
    assert refused == 0
    assert state == live.state


@settings(max_examples=200, deadline=None)
@given(st.data(), worlds(), directories())
def test_an_erasure_on_the_log_rebuilds_nothing_of_what_came_before(
    data: st.DataObject, facts: list[Fact], directory: Directory
) -> None:
    """Everything logged before an erasure is dropped, and stays dropped when sent again."""
    erase = Erase("erase-x", RESIDENT, "resident_request")
    again = data.draw(st.lists(st.sampled_from([*facts, erase]), max_size=8))
    state, _ = replayed(RESIDENT, [*facts, erase, *again])
    assert state == EMPTY


@settings(max_examples=200, deadline=None)
@given(st.data(), worlds())
def test_without_erasures_the_order_of_the_log_does_not_matter(
    data: st.DataObject, facts: list[Fact]
) -> None:
    """A log of facts alone folds to the same state in any order, with any repeats."""
    state, _ = replayed(RESIDENT, facts)
    assert replayed(RESIDENT, data.draw(shuffled_with_repeats(facts)))[0] == state
