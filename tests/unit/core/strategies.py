"""Hypothesis strategies for the core's facts: one small world where collisions are likely.

Few authorities, attributes and instants, so that ties on time, retractions of
real claims, overlapping consents and withdrawals happen often.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from streams.core import (
    ALL_ATTRIBUTES,
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Directory,
    Fact,
    Retraction,
    SubscriptionChange,
    apply_all,
)

RESIDENT = "7d3c6a0e-2f4b-4f0e-9a51-3c1d2e4f5a6b"
AUTHORITIES = ("E08000012", "E08000015", "urn:org:dwp", "urn:org:dvla")
PUBLISHERS = (*AUTHORITIES, "urn:org:gro")
ATTRS = ("address", "email", "date_of_death")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
NOW = BASE + timedelta(days=30)

instants = st.integers(min_value=0, max_value=20).map(lambda n: BASE + timedelta(hours=n))


@st.composite
def worlds(draw: st.DrawFn, max_facts: int = 25) -> list[Fact]:
    """A list of facts about one resident with unique ids (claims, retractions, consents)."""
    count = draw(st.integers(min_value=0, max_value=max_facts))
    facts: list[Fact] = []
    claims: list[Claim] = []
    for n in range(count):
        kind = draw(st.sampled_from(("claim", "claim", "claim", "retract", "grant", "withdraw")))
        fid = f"e{n:03d}"
        if kind == "claim" or (kind == "retract" and not claims):
            claim = Claim(
                id=fid,
                resident=RESIDENT,
                attribute=draw(st.sampled_from(ATTRS)),
                value={"v": n},
                level=draw(st.integers(min_value=0, max_value=3)),
                source=draw(st.sampled_from(PUBLISHERS)),
                method="test",
                verified_at=draw(instants),
                digest=f"d{fid}",
            )
            claims.append(claim)
            facts.append(claim)
        elif kind == "retract":
            target = draw(st.sampled_from(claims))
            honest = draw(st.booleans())
            facts.append(
                Retraction(
                    id=fid,
                    resident=RESIDENT,
                    claim_id=target.id,
                    attribute=target.attribute,
                    source=target.source if honest else draw(st.sampled_from(PUBLISHERS)),
                    reason="reported_in_error",
                    issued_at=draw(instants),
                    digest=f"d{fid}",
                )
            )
        elif kind == "grant":
            authority = draw(st.sampled_from(AUTHORITIES))
            expires = draw(st.one_of(st.none(), instants, st.just(NOW + timedelta(days=1))))
            facts.append(
                ConsentGrant(
                    id=fid,
                    resident=RESIDENT,
                    authority=authority,
                    attributes=frozenset(draw(st.sets(st.sampled_from(ATTRS), min_size=1))),
                    purpose="test",
                    local_reference=draw(st.sampled_from(("REF-1", "REF-2"))),
                    expires_at=expires,
                    issued_at=draw(instants),
                    digest=f"d{fid}",
                )
            )
        else:
            everything = draw(st.booleans())
            facts.append(
                ConsentWithdrawal(
                    id=fid,
                    resident=RESIDENT,
                    authority=draw(st.sampled_from(AUTHORITIES)),
                    attributes=frozenset({ALL_ATTRIBUTES})
                    if everything
                    else frozenset(draw(st.sets(st.sampled_from(ATTRS), min_size=1))),
                    issued_at=draw(instants),
                    digest=f"d{fid}",
                )
            )
    return facts


@st.composite
def directories(draw: st.DrawFn) -> Directory:
    """A subscription directory over the small world."""
    changes = []
    for n, authority in enumerate(AUTHORITIES):
        for attribute in draw(st.sets(st.sampled_from(ATTRS))):
            changes.append(
                SubscriptionChange(
                    id=f"s{n}{attribute}",
                    authority=authority,
                    attribute=attribute,
                    minimum_level=draw(st.integers(min_value=0, max_value=3)),
                    active=True,
                    issued_at=BASE,
                )
            )
    return apply_all(changes)


@st.composite
def shuffled_with_repeats(draw: st.DrawFn, facts: list[Fact]) -> list[Fact]:
    """The same facts in another order, some of them repeated."""
    repeats = draw(st.lists(st.sampled_from(facts), max_size=len(facts))) if facts else []
    return draw(st.permutations([*facts, *repeats]))


def renamed(facts: list[Fact], prefix: str) -> list[Fact]:
    """The same facts with ids in another namespace (retractions follow their claims)."""
    from dataclasses import replace

    out: list[Fact] = []
    for fact in facts:
        if isinstance(fact, Retraction):
            out.append(replace(fact, id=prefix + fact.id, claim_id=prefix + fact.claim_id))
        else:
            out.append(replace(fact, id=prefix + fact.id))
    return out
