"""The merge rule: a resident's state as a join-semilattice.

The state is the set of claims seen, the set of retractions seen, the latest
consent grant per authority and the latest withdrawal per (authority,
attribute), plus the fingerprint of every event id seen. ``join`` is

- commutative: ``join(a, b) == join(b, a)``,
- associative: ``join(join(a, b), c) == join(a, join(b, c))``,
- idempotent: ``join(a, a) == a``,

and ``fold(state, fact) == join(state, of(fact))``. So the state after any set
of events is the same whatever order they arrive in and however often each is
repeated, and every view derived from it (``best_claim``, the consent gate) is
too. Replay depends on it; ``tests/unit/core`` proves it with hypothesis.

A retraction takes effect only when it names a claim of the same publisher;
one from anybody else is kept but inert. An authority with minimum level L
sees, per attribute, the live claim with the greatest ``(verified_at, id)``
among levels >= L.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streams.core.catalogue import ALL_ATTRIBUTES
from streams.core.facts import (
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Fact,
    Retraction,
    Stamp,
)


@dataclass(frozen=True, slots=True)
class ResidentState:
    """Everything the hub knows about one resident. Treat the mappings as immutable."""

    claims: Mapping[str, Claim] = field(default_factory=dict)
    retractions: Mapping[str, Retraction] = field(default_factory=dict)
    grants: Mapping[str, ConsentGrant] = field(default_factory=dict)
    withdrawals: Mapping[tuple[str, str], ConsentWithdrawal] = field(default_factory=dict)
    seen: Mapping[str, str] = field(default_factory=dict)


EMPTY = ResidentState()


def _later(a: ConsentGrant | ConsentWithdrawal | None, b: ConsentGrant | ConsentWithdrawal) -> bool:
    return a is None or b.stamp > a.stamp


def fold(state: ResidentState, fact: Fact) -> ResidentState:
    """The state after one more fact (a no-op for a fact already seen)."""
    if fact.id in state.seen:
        return state
    seen = {**state.seen, fact.id: fact.digest}
    match fact:
        case Claim():
            return _replace(state, seen, claims={**state.claims, fact.id: fact})
        case Retraction():
            return _replace(state, seen, retractions={**state.retractions, fact.id: fact})
        case ConsentGrant():
            grants = dict(state.grants)
            if _later(grants.get(fact.authority), fact):
                grants[fact.authority] = fact
            return _replace(state, seen, grants=grants)
        case ConsentWithdrawal():
            withdrawals = dict(state.withdrawals)
            for attribute in fact.attributes:
                key = (fact.authority, attribute)
                if _later(withdrawals.get(key), fact):
                    withdrawals[key] = fact
            return _replace(state, seen, withdrawals=withdrawals)


def _replace(state: ResidentState, seen: dict[str, str], **changes: object) -> ResidentState:
    parts: dict[str, object] = {
        "claims": state.claims,
        "retractions": state.retractions,
        "grants": state.grants,
        "withdrawals": state.withdrawals,
        "seen": seen,
    }
    parts.update(changes)
    return ResidentState(**parts)  # type: ignore[arg-type]


def fold_all(facts: Iterable[Fact], state: ResidentState = EMPTY) -> ResidentState:
    """Fold many facts in the order given."""
    for fact in facts:
        state = fold(state, fact)
    return state


def join(a: ResidentState, b: ResidentState) -> ResidentState:
    """The least upper bound of two states."""
    grants = dict(a.grants)
    for authority, grant in b.grants.items():
        if _later(grants.get(authority), grant):
            grants[authority] = grant
    withdrawals = dict(a.withdrawals)
    for key, withdrawal in b.withdrawals.items():
        if _later(withdrawals.get(key), withdrawal):
            withdrawals[key] = withdrawal
    return ResidentState(
        claims={**a.claims, **b.claims},
        retractions={**a.retractions, **b.retractions},
        grants=grants,
        withdrawals=withdrawals,
        seen={**a.seen, **b.seen},
    )


def is_retracted(state: ResidentState, claim: Claim) -> bool:
    """Whether the claim's own publisher has retracted it."""
    return any(
        r.claim_id == claim.id and r.source == claim.source for r in state.retractions.values()
    )


def live_claims(state: ResidentState, attribute: str) -> list[Claim]:
    """The claims for an attribute that have not been retracted by their publisher."""
    retracted = {(r.claim_id, r.source) for r in state.retractions.values()}
    return [
        c
        for c in state.claims.values()
        if c.attribute == attribute and (c.id, c.source) not in retracted
    ]


def best_claim(
    state: ResidentState, attribute: str, minimum_level: int = 0, exclude_source: str | None = None
) -> Claim | None:
    """The live claim with the greatest ``(verified_at, id)`` among levels >= ``minimum_level``.

    ``exclude_source`` leaves out one publisher's claims: an authority is never
    sent its own claim, so its view is the best claim of everybody else.
    """
    candidates = [
        c
        for c in live_claims(state, attribute)
        if c.level >= minimum_level and c.source != exclude_source
    ]
    return max(candidates, key=lambda c: c.stamp, default=None)


def latest_withdrawal(state: ResidentState, authority: str, attribute: str) -> Stamp | None:
    """The stamp of the latest withdrawal covering (authority, attribute), if any."""
    stamps = [
        w.stamp
        for key in ((authority, attribute), (authority, ALL_ATTRIBUTES))
        if (w := state.withdrawals.get(key)) is not None
    ]
    return max(stamps, default=None)
