"""The consent gate and the decisions: safe, order-independent, audited."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import (
    ALL_ATTRIBUTES,
    AuditDecision,
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Directory,
    Fact,
    Outcome,
    Profile,
    Reevaluate,
    active_grant,
    decide_all,
    view,
)
from tests.unit.core.strategies import (
    AUTHORITIES,
    NOW,
    RESIDENT,
    directories,
    shuffled_with_repeats,
    worlds,
)


def held_by_authorities(outcomes: list[Outcome]) -> dict[str, dict[str, str]]:
    """What each authority holds after applying each outcome's endings, then deliveries."""
    held: dict[str, dict[str, str]] = {}
    for outcome in outcomes:
        for e in outcome.endings:
            for attribute in e.attributes:
                held.get(e.authority, {}).pop(attribute, None)
        for d in outcome.deliveries:
            values = held.setdefault(d.authority, {})
            if d.claim is None:
                values.pop(d.attribute, None)
            else:
                values[d.attribute] = d.claim.id
    return {a: v for a, v in held.items() if v}


def run(facts: list[Fact], directory: Directory) -> list[Outcome]:
    return decide_all(Profile(RESIDENT), facts, directory, NOW)


@settings(max_examples=200)
@given(st.data(), worlds(), directories())
def test_final_view_is_independent_of_order_and_repetition(
    data: st.DataObject, facts: list[Fact], directory: Directory
) -> None:
    """Every authority ends up holding the same values whatever the order and repetition."""
    other = data.draw(shuffled_with_repeats(facts))
    first, second = run(facts, directory), run(other, directory)
    assert first[-1:] == [] or first[-1].profile.state == second[-1].profile.state
    expected = view(first[-1].profile, directory, NOW) if first else {}
    assert held_by_authorities(first) == expected
    assert held_by_authorities(second) == expected


@settings(max_examples=200)
@given(worlds(), directories())
def test_no_claim_reaches_an_authority_the_gate_refuses(
    facts: list[Fact], directory: Directory
) -> None:
    """A delivery always meets subscription, assurance, consent and is never the authority's own."""
    for outcome in run(facts, directory):
        state = outcome.profile.state
        for d in outcome.deliveries:
            minimum = directory.minimum_level(d.authority, d.attribute)
            assert minimum is not None
            grant = active_grant(state, d.authority, d.attribute, NOW)
            assert isinstance(grant, ConsentGrant)
            assert d.local_reference == grant.local_reference
            if d.claim is not None:
                assert d.claim.level >= minimum
                assert d.claim.source != d.authority
                assert d.claim.resident == RESIDENT


@settings(max_examples=200)
@given(worlds(), directories(), st.sampled_from(AUTHORITIES), worlds())
def test_nothing_is_delivered_after_a_withdrawal(
    before: list[Fact], directory: Directory, authority: str, after: list[Fact]
) -> None:
    """Once the latest word is a withdrawal of all, no later event reaches that authority."""
    withdrawal = ConsentWithdrawal(
        "w-final", RESIDENT, authority, frozenset({ALL_ATTRIBUTES}), NOW, "dw"
    )
    later = [f for f in after if not isinstance(f, ConsentGrant)]
    later = [type(f)(**{**_fields(f), "id": "z" + f.id}) for f in later]  # type: ignore[arg-type]
    outcomes = run([*before, withdrawal, *later], directory)
    tail = outcomes[len(before) :]
    assert all(d.authority != authority for o in tail for d in o.deliveries)
    if any(e.authority == authority for o in tail for e in o.endings):
        assert all(
            e.reason == "withdrawn" for o in tail for e in o.endings if e.authority == authority
        )


@settings(max_examples=200)
@given(worlds(), directories())
def test_expired_consent_behaves_as_withdrawn(facts: list[Fact], directory: Directory) -> None:
    """Past its expiry a consent lets nothing through, and a re-evaluation ends it."""
    outcomes = run(facts, directory)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    later = NOW + timedelta(days=2)  # every generated expiry is before this
    tick = decide_all(profile, [Reevaluate("tick-1", RESIDENT, "expiry")], directory, later)[0]
    assert tick.deliveries == ()
    expiring = {a for a, g in profile.state.grants.items() if g.expires_at is not None}
    for authority in expiring:
        holding = profile.holdings.get(authority)
        assert authority not in tick.profile.holdings
        if holding is not None and holding.consented:
            ended = [e for e in tick.endings if e.authority == authority]
            assert ended
            assert ended[0].reason == "expired"
            assert set(ended[0].attributes) == set(holding.consented)


@settings(max_examples=100)
@given(worlds(), directories())
def test_every_claim_is_audited_for_every_subscriber(
    facts: list[Fact], directory: Directory
) -> None:
    """Each new claim gets one audit record of its own and one per subscriber."""
    for fact, outcome in zip(facts, run(facts, directory), strict=True):
        if not isinstance(fact, Claim):
            continue
        own = [a for a in outcome.audit if a.event_id == fact.id and a.authority is None]
        assert len(own) == 1
        assert own[0].decision in (AuditDecision.ACCEPTED, AuditDecision.SUPERSEDED)
        for authority in directory.subscribers(fact.attribute):
            about = [
                a
                for a in outcome.audit
                if a.authority == authority
                and a.claim_id == fact.id
                and a.decision in (AuditDecision.DELIVERED, AuditDecision.WITHHELD)
            ]
            assert len(about) == 1
            if about[0].decision is AuditDecision.WITHHELD:
                assert about[0].reason


@given(worlds(), directories())
def test_redelivered_events_change_nothing(facts: list[Fact], directory: Directory) -> None:
    """Feeding every event a second time yields only duplicate audits and no output."""
    outcomes = run(facts, directory)
    if not outcomes:
        return
    profile = outcomes[-1].profile
    again = decide_all(profile, facts, directory, NOW)
    for outcome in again:
        assert outcome.profile == profile
        assert outcome.deliveries == ()
        assert outcome.endings == ()
        assert [a.decision for a in outcome.audit] == [AuditDecision.DUPLICATE]


def test_an_id_reused_for_other_content_is_rejected() -> None:
    """The same event id with a different fingerprint is refused, not merged."""
    from datetime import UTC, datetime

    claim = Claim(
        "e1",
        RESIDENT,
        "email",
        {"v": 1},
        0,
        "urn:org:dwp",
        "m",
        datetime(2026, 1, 1, tzinfo=UTC),
        "a",
    )
    forged = Claim(
        "e1",
        RESIDENT,
        "email",
        {"v": 2},
        3,
        "urn:org:dwp",
        "m",
        datetime(2026, 1, 2, tzinfo=UTC),
        "b",
    )
    outcomes = run([claim, forged], Directory())
    assert outcomes[1].rejected == "id_reused"
    assert outcomes[1].profile == outcomes[0].profile


def _fields(fact: Fact) -> dict[str, object]:
    return {f.name: getattr(fact, f.name) for f in dataclasses.fields(fact)}
