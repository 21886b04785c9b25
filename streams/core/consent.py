"""The consent gate: may this authority see this claim, and if not, why not.

A claim reaches authority A only when all hold:

1. A subscribes to the attribute (``not_subscribed``);
2. A did not publish that very claim (``own_claim``);
3. the claim meets A's minimum assurance level (``below_minimum_assurance``);
4. the resident's latest grant to A covers the attribute (``no_consent``), no
   later withdrawal covers it (``consent_withdrawn``) and it has not expired at
   ``now`` (``consent_expired``).

Consent per (resident, authority) is last-writer-wins on ``(issued_at, id)``:
the latest grant states everything A may see; a withdrawal covers the
attributes it names (or all) and beats any grant issued before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from streams.core.facts import Claim, ConsentGrant
from streams.core.merge import ResidentState, latest_withdrawal
from streams.core.subscriptions import Directory


class Withheld(StrEnum):
    """Why a claim was not delivered to an authority."""

    NOT_SUBSCRIBED = "not_subscribed"
    OWN_CLAIM = "own_claim"
    BELOW_MINIMUM_ASSURANCE = "below_minimum_assurance"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    NOT_CURRENT = "not_current"


def active_grant(
    state: ResidentState, authority: str, attribute: str, now: datetime
) -> ConsentGrant | Withheld:
    """The grant that lets ``authority`` see ``attribute`` now, or why there is none."""
    grant = state.grants.get(authority)
    withdrawn = latest_withdrawal(state, authority, attribute)
    if grant is None:
        return Withheld.CONSENT_WITHDRAWN if withdrawn is not None else Withheld.NO_CONSENT
    if withdrawn is not None and withdrawn > grant.stamp:
        return Withheld.CONSENT_WITHDRAWN
    if attribute not in grant.attributes:
        return Withheld.NO_CONSENT
    if grant.expires_at is not None and now >= grant.expires_at:
        return Withheld.CONSENT_EXPIRED
    return grant


def consented(state: ResidentState, authority: str, now: datetime) -> frozenset[str]:
    """The attributes the resident lets ``authority`` see now."""
    grant = state.grants.get(authority)
    if grant is None:
        return frozenset()
    return frozenset(
        a
        for a in grant.attributes
        if isinstance(active_grant(state, authority, a, now), ConsentGrant)
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer for one (claim, authority): allowed, or withheld with a reason."""

    allowed: bool
    reason: Withheld | None = None


ALLOWED = Verdict(True)


def gate(
    state: ResidentState, directory: Directory, authority: str, claim: Claim, now: datetime
) -> Verdict:
    """Whether ``claim`` may reach ``authority`` now (before asking if it is the current one)."""
    minimum = directory.minimum_level(authority, claim.attribute)
    if minimum is None:
        return Verdict(False, Withheld.NOT_SUBSCRIBED)
    if claim.source == authority:
        return Verdict(False, Withheld.OWN_CLAIM)
    if claim.level < minimum:
        return Verdict(False, Withheld.BELOW_MINIMUM_ASSURANCE)
    grant = active_grant(state, authority, claim.attribute, now)
    if isinstance(grant, Withheld):
        return Verdict(False, grant)
    return ALLOWED
