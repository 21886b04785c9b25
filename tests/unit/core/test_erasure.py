"""Erasure: every holder is told to delete, nothing of the resident stays, nothing comes back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import (
    EMPTY,
    ERASED,
    AuditDecision,
    Directory,
    Erase,
    Fact,
    Outcome,
    Profile,
    decide,
    decide_all,
    view,
)
from tests.unit.core.strategies import NOW, RESIDENT, directories, worlds
from tests.unit.core.test_decide import held_by_authorities

ERASE = Erase("erase-1", RESIDENT, "resident_request")


def before_and_after(
    facts: list[Fact], directory: Directory
) -> tuple[Profile, Profile, list[Outcome]]:
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    erased = decide(profile, ERASE, directory, NOW)
    return profile, erased.profile, [*outcomes, erased]


@settings(max_examples=200)
@given(worlds(), directories())
def test_after_an_erasure_no_authority_holds_anything(
    facts: list[Fact], directory: Directory
) -> None:
    """Every authority that held anything is sent consent.ended (reason erased) for all of it."""
    before, after, outcomes = before_and_after(facts, directory)
    assert held_by_authorities(outcomes) == {}
    erasure = outcomes[-1]
    assert {e.authority for e in erasure.endings} == {
        a for a, h in before.holdings.items() if not h.is_empty()
    }
    assert all(e.reason == ERASED for e in erasure.endings)
    assert erasure.deliveries == ()
    assert view(after, directory, NOW) == {}


@settings(max_examples=200)
@given(worlds(), directories())
def test_an_erased_profile_holds_no_value_and_versions_keep_growing(
    facts: list[Fact], directory: Directory
) -> None:
    """The profile keeps no claim, consent or holding, only ids; its version grows."""
    before, after, _ = before_and_after(facts, directory)
    assert after.state == EMPTY
    assert after.holdings == {}
    assert after.sequence == before.sequence + 1
    assert after.erased == frozenset(before.state.seen) | {ERASE.id}


@settings(max_examples=200)
@given(st.data(), worlds(), directories())
def test_a_redelivered_input_brings_nothing_back(
    data: st.DataObject, facts: list[Fact], directory: Directory
) -> None:
    """Inputs the erasure dropped, and the erasure itself, change nothing when seen again."""
    _, after, _ = before_and_after(facts, directory)
    again = data.draw(st.lists(st.sampled_from([*facts, ERASE]), max_size=10))
    profile = after
    for item in again:
        outcome = decide(profile, item, directory, NOW)
        assert outcome.deliveries == ()
        assert outcome.endings == ()
        assert [a.decision for a in outcome.audit] == [AuditDecision.DUPLICATE]
        assert outcome.audit[0].reason == ERASED
        profile = outcome.profile
    assert profile == after


@settings(max_examples=100)
@given(worlds(), directories())
def test_the_erasure_is_audited_without_any_value(facts: list[Fact], directory: Directory) -> None:
    """One erased entry with the reason code; every ending audited; no entry names a claim."""
    _, _, outcomes = before_and_after(facts, directory)
    audit = outcomes[-1].audit
    assert [a.decision for a in audit].count(AuditDecision.ERASED) == 1
    assert audit[-1].reason == "resident_request"
    ended = {(e.authority, a) for e in outcomes[-1].endings for a in e.attributes}
    assert {
        (a.authority, a.attribute) for a in audit if a.decision == AuditDecision.CONSENT_ENDED
    } == ended
    assert all(a.claim_id is None and a.level is None for a in audit)
