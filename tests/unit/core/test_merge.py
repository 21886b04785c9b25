"""The merge rule is a join-semilattice: order and repetition never change the state."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.core import EMPTY, Claim, Fact, Retraction, best_claim, fold_all, join
from tests.unit.core.strategies import (
    ATTRS,
    BASE,
    PUBLISHERS,
    RESIDENT,
    renamed,
    shuffled_with_repeats,
    worlds,
)


@given(st.data(), worlds())
def test_fold_is_independent_of_order_and_repetition(
    data: st.DataObject, facts: list[Fact]
) -> None:
    """Any permutation of the events, with any of them repeated, folds to the same state."""
    other = data.draw(shuffled_with_repeats(facts))
    assert fold_all(other) == fold_all(facts)


@given(worlds(), worlds(), worlds())
def test_join_is_commutative_associative_and_idempotent(
    a: list[Fact], b: list[Fact], c: list[Fact]
) -> None:
    """join is a semilattice join on states built from arbitrary facts."""
    sa, sb, sc = fold_all(a), fold_all(renamed(b, "b")), fold_all(renamed(c, "c"))
    assert join(sa, sb) == join(sb, sa)
    assert join(join(sa, sb), sc) == join(sa, join(sb, sc))
    assert join(sa, sa) == sa
    assert join(sa, EMPTY) == sa


@given(worlds(), worlds())
def test_fold_of_concatenation_is_join_of_folds(a: list[Fact], b: list[Fact]) -> None:
    """Folding two event sets together equals joining their separate folds (ids are distinct)."""
    b = renamed(b, "x")
    assert fold_all([*a, *b]) == join(fold_all(a), fold_all(b))


@given(st.data(), worlds())
def test_best_claim_is_the_latest_live_claim_at_or_above_the_level(
    data: st.DataObject, facts: list[Fact]
) -> None:
    """best_claim picks the greatest (verified_at, id) among live claims at or above the level."""
    state = fold_all(facts)
    attribute = data.draw(st.sampled_from(ATTRS))
    level = data.draw(st.integers(min_value=0, max_value=3))
    retracted = {(r.claim_id, r.source) for r in state.retractions.values()}
    live = [
        c
        for c in state.claims.values()
        if c.attribute == attribute and c.level >= level and (c.id, c.source) not in retracted
    ]
    best = best_claim(state, attribute, level)
    if not live:
        assert best is None
    else:
        assert best is not None
        assert all(best.stamp >= c.stamp for c in live)


@given(worlds(), st.sampled_from(PUBLISHERS))
def test_retraction_by_another_publisher_changes_no_view(facts: list[Fact], stranger: str) -> None:
    """A retraction takes effect only when it comes from the claim's own publisher."""
    claim = Claim("c-own", RESIDENT, "address", {"v": 1}, 3, "E08000012", "test", BASE, "dc")
    state = fold_all([*facts, claim])
    if stranger == claim.source:
        return
    forged = Retraction("r-forged", RESIDENT, claim.id, "address", stranger, "other", BASE, "dr")
    after = fold_all([forged], state)
    for level in range(4):
        assert best_claim(after, "address", level) == best_claim(state, "address", level)
    honest = Retraction("r-own", RESIDENT, claim.id, "address", claim.source, "other", BASE, "dh")
    retracted = fold_all([honest], after)
    assert all(
        (b := best_claim(retracted, "address", level)) is None or b.id != claim.id
        for level in range(4)
    )
