"""The read model's pure rules: which claim stands, and what a consent allows now.

Both defer to the hub's own core (``streams.core``) so the resident sees the
profile and consents the hub decides by: the standing claim is the live claim
(not retracted by its own publisher) with the greatest ``(verified_at, id)`` at
any level; consent per (resident, authority) is last-writer-wins on
``(issued_at, id)``, a withdrawal beating any grant issued before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from consumers.readmodel._facts import ClaimSeen, GrantSeen, RetractionSeen, WithdrawalSeen
from schemas.ids import authority_of_source
from streams.core import (
    ALL_ATTRIBUTES,
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    ResidentState,
    Retraction,
    active_grant,
    best_claim,
    level_rank,
)


def standing_claim(
    claims: Iterable[ClaimSeen], retractions: Iterable[RetractionSeen]
) -> ClaimSeen | None:
    """The claim that stands for one resident and attribute, or None when none does."""
    seen = {claim.claim_id: claim for claim in claims}
    if not seen:
        return None
    state = ResidentState(
        claims={c.claim_id: _core_claim(c) for c in seen.values()},
        retractions={r.event_id: _core_retraction(r) for r in retractions},
    )
    best = best_claim(state, next(iter(seen.values())).attribute)
    return None if best is None else seen[best.id]


def later(current: tuple[datetime, str] | None, candidate: tuple[datetime, str]) -> bool:
    """Last-writer-wins on ``(issued_at, event id)``."""
    return current is None or candidate > current


@dataclass(frozen=True, slots=True)
class ConsentNow:
    """One authority's consent as it stands at a given moment."""

    authority: str
    status: str  # active, partly_withdrawn, withdrawn, expired
    granted: tuple[str, ...]
    allowed: tuple[str, ...]
    purpose: str | None
    local_reference: str | None
    expires_at: datetime | None
    issued_at: datetime | None


def consent_now(
    authority: str,
    grant: GrantSeen | None,
    withdrawals: Iterable[WithdrawalSeen],
    now: datetime,
) -> ConsentNow:
    """What the resident lets ``authority`` see at ``now``, and a one-word status."""
    state = ResidentState(
        grants={authority: _core_grant(grant)} if grant else {},
        withdrawals={
            (authority, attribute): _core_withdrawal(w, attribute)
            for w in withdrawals
            for attribute in w.attributes
        },
    )
    granted = tuple(grant.attributes) if grant else ()
    allowed = tuple(
        a for a in granted if isinstance(active_grant(state, authority, a, now), ConsentGrant)
    )
    if grant is not None and grant.expires_at is not None and now >= grant.expires_at:
        status = "expired"
    elif allowed and len(allowed) == len(granted):
        status = "active"
    elif allowed:
        status = "partly_withdrawn"
    else:
        status = "withdrawn"
    return ConsentNow(
        authority=authority,
        status=status,
        granted=granted,
        allowed=allowed,
        purpose=grant.purpose if grant else None,
        local_reference=grant.local_reference if grant else None,
        expires_at=grant.expires_at if grant else None,
        issued_at=grant.issued_at if grant else None,
    )


def _core_claim(claim: ClaimSeen) -> Claim:
    return Claim(
        id=claim.claim_id,
        resident=claim.resident,
        attribute=claim.attribute,
        value=claim.value_json,
        level=level_rank(claim.assurance),
        source=authority_of_source(claim.source),
        method=claim.method,
        verified_at=claim.verified_at,
        digest="",
    )


def _core_retraction(retraction: RetractionSeen) -> Retraction:
    return Retraction(
        id=retraction.event_id,
        resident=retraction.resident,
        claim_id=retraction.claim_id,
        attribute=retraction.attribute,
        source=authority_of_source(retraction.source),
        reason=retraction.reason,
        issued_at=retraction.issued_at,
        digest="",
    )


def _core_grant(grant: GrantSeen) -> ConsentGrant:
    return ConsentGrant(
        id=grant.event_id,
        resident=grant.resident,
        authority=grant.authority,
        attributes=frozenset(grant.attributes),
        purpose=grant.purpose,
        local_reference=grant.local_reference,
        expires_at=grant.expires_at,
        issued_at=grant.issued_at,
        digest="",
    )


def _core_withdrawal(withdrawal: WithdrawalSeen, attribute: str) -> ConsentWithdrawal:
    return ConsentWithdrawal(
        id=withdrawal.event_id,
        resident=withdrawal.resident,
        authority=withdrawal.authority,
        attributes=frozenset({attribute}),
        issued_at=withdrawal.issued_at,
        digest="",
    )


__all__ = ["ALL_ATTRIBUTES", "ConsentNow", "consent_now", "later", "standing_claim"]
