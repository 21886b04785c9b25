"""The decision: fold one input into a resident's profile and say what follows from it.

A profile is the resident's lattice state (``merge``) plus what each authority
holds as the hub last told it. After every input the hub reconciles the
touched (authority, attribute) pairs: an authority entitled to an attribute
(subscribed, consented) is sent the best claim it may see whenever that differs
from what it holds, and told when none stands any more; an authority whose
consent ended (withdrawn, expired) is sent ``consent.ended`` and nothing more.
So after every decision, what each authority holds equals its view of the
state, and the final holdings do not depend on the order of the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from streams.core.catalogue import ATTRIBUTES
from streams.core.consent import ALLOWED, Withheld, gate
from streams.core.erasure import erase, erased_again
from streams.core.facts import (
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Erase,
    Input,
    Reevaluate,
    Retraction,
)
from streams.core.merge import ResidentState, best_claim, fold, is_retracted
from streams.core.outputs import (
    AuditDecision,
    AuditEntry,
    Delivery,
    Ending,
)
from streams.core.profile import Outcome, Profile
from streams.core.reconcile import Point, reconcile_authority
from streams.core.subscriptions import Directory


def kind_of(item: Input) -> str:
    """A short name for an input's kind, used in audit entries."""
    return type(item).__name__


def source_of(item: Input) -> str:
    return getattr(item, "source", "") or ""


def decide(profile: Profile, item: Input, directory: Directory, now: datetime) -> Outcome:
    """Fold ``item`` into ``profile`` and decide the deliveries, endings and audit it causes."""
    state = profile.state
    if item.id in profile.erased:
        return erased_again(profile, item.id, kind_of(item), source_of(item))
    if isinstance(item, Erase):
        return erase(profile, item)
    if isinstance(item, Reevaluate):
        pairs = _pairs_for_everyone(profile, directory)
        return _reconcile(profile, state, directory, now, pairs, item, [])
    if item.id in state.seen:
        same = state.seen[item.id] == item.digest
        entry = AuditEntry(
            AuditDecision.DUPLICATE if same else AuditDecision.REJECTED,
            profile.resident,
            item.id,
            kind_of(item),
            source_of(item),
            reason=None if same else "id_reused",
        )
        return Outcome(profile, (entry,), rejected=None if same else "id_reused")
    new_state = fold(state, item)
    audit = [_audit_input(state, new_state, item, profile.resident)]
    pairs = _pairs_for(profile, new_state, item, directory)
    outcome = _reconcile(profile, new_state, directory, now, pairs, item, audit)
    if isinstance(item, Claim):
        outcome = _with_withheld(outcome, item, directory, now)
    return outcome


def _audit_input(
    before: ResidentState, after: ResidentState, item: Input, resident: str
) -> AuditEntry:
    base = {"resident": resident, "event_id": item.id, "event_kind": kind_of(item)}
    match item:
        case Claim():
            standing = best_claim(after, item.attribute, item.level)
            if is_retracted(after, item):
                decision, reason = AuditDecision.SUPERSEDED, "already_retracted"
            elif standing is not None and standing.id != item.id:
                decision, reason = AuditDecision.SUPERSEDED, "newer_claim_stands"
            else:
                decision, reason = AuditDecision.ACCEPTED, None
            return AuditEntry(
                decision,
                event_source=item.source,
                reason=reason,
                attribute=item.attribute,
                claim_id=item.id,
                level=item.level,
                **base,  # type: ignore[arg-type]
            )
        case Retraction():
            claim = after.claims.get(item.claim_id)
            if claim is None:
                decision, reason = AuditDecision.ACCEPTED, "claim_not_seen_yet"
            elif claim.source != item.source:
                decision, reason = AuditDecision.REJECTED, "not_claim_publisher"
            else:
                decision, reason = AuditDecision.RETRACTED, item.reason
            return AuditEntry(
                decision,
                event_source=item.source,
                reason=reason,
                attribute=claim.attribute if claim else item.attribute,
                claim_id=item.claim_id,
                **base,  # type: ignore[arg-type]
            )
        case ConsentGrant() | ConsentWithdrawal():
            if isinstance(item, ConsentGrant):
                winner = after.grants.get(item.authority)
                recorded = winner is not None and winner.id == item.id
                reason = None if recorded else "newer_consent_stands"
            else:
                recorded, reason = True, "withdrawal"
            return AuditEntry(
                AuditDecision.CONSENT_RECORDED if recorded else AuditDecision.SUPERSEDED,
                event_source=item.source,
                reason=reason,
                authority=item.authority,
                **base,  # type: ignore[arg-type]
            )
        case Reevaluate() | Erase():  # pragma: no cover - handled before folding
            raise AssertionError("re-evaluations and erasures are not folded")


Pairs = dict[str, frozenset[str]]


def _pairs_for(profile: Profile, state: ResidentState, item: Input, directory: Directory) -> Pairs:
    """The (authority -> attributes) an input can change."""
    if isinstance(item, ConsentGrant | ConsentWithdrawal):
        return {item.authority: frozenset(ATTRIBUTES)}
    if isinstance(item, Retraction):
        claim = state.claims.get(item.claim_id)
        attribute = claim.attribute if claim else item.attribute
    else:
        assert isinstance(item, Claim)
        attribute = item.attribute
    authorities = set(directory.subscribers(attribute))
    authorities.update(a for a, h in profile.holdings.items() if attribute in h.values)
    return {a: frozenset((attribute,)) for a in sorted(authorities)}


def _pairs_for_everyone(profile: Profile, directory: Directory) -> Pairs:
    authorities = set(profile.holdings) | set(profile.state.grants)
    return {a: frozenset(ATTRIBUTES) for a in sorted(authorities)}


def _reconcile(
    profile: Profile,
    state: ResidentState,
    directory: Directory,
    now: datetime,
    pairs: Pairs,
    cause_item: Input,
    audit: list[AuditEntry],
) -> Outcome:
    """Bring each touched authority's holding in line with its view of ``state``."""
    version = profile.sequence + 1
    resident = profile.resident
    holdings = dict(profile.holdings)
    deliveries: list[Delivery] = []
    endings: list[Ending] = []
    for authority, attributes in pairs.items():
        at = Point(resident, authority, cause_item.id, version)
        touched = reconcile_authority(
            state, directory, now, at, attributes, holdings.get(authority)
        )
        if touched is None:
            continue
        holding, delivered, ended = touched
        deliveries.extend(delivered)
        endings.extend(ended)
        if holding.is_empty():
            holdings.pop(authority, None)
        else:
            holdings[authority] = holding
    audit.extend(_audit_delivery(d, cause_item) for d in deliveries)
    audit.extend(entry for e in endings for entry in _audit_ending(e, cause_item))
    changed = (
        bool(deliveries or endings) or state is not profile.state or holdings != profile.holdings
    )
    new_profile = Profile(
        resident, state, holdings, version if changed else profile.sequence, profile.erased
    )
    return Outcome(new_profile, tuple(audit), tuple(deliveries), tuple(endings))


def _audit_delivery(delivery: Delivery, cause: Input) -> AuditEntry:
    claim = delivery.claim
    return AuditEntry(
        AuditDecision.DELIVERED,
        delivery.resident,
        cause.id,
        kind_of(cause),
        source_of(cause),
        reason=None if claim else "no_value_stands",
        attribute=delivery.attribute,
        authority=delivery.authority,
        claim_id=claim.id if claim else None,
        level=claim.level if claim else None,
        decision_id=delivery.decision_id,
        version=delivery.version,
    )


def _audit_ending(ending: Ending, cause: Input) -> list[AuditEntry]:
    return [
        AuditEntry(
            AuditDecision.CONSENT_ENDED,
            ending.resident,
            cause.id,
            kind_of(cause),
            source_of(cause),
            reason=ending.reason,
            attribute=attribute,
            authority=ending.authority,
            decision_id=ending.decision_id,
            version=ending.version,
        )
        for attribute in ending.attributes
    ]


def _with_withheld(outcome: Outcome, claim: Claim, directory: Directory, now: datetime) -> Outcome:
    """Add a ``withheld`` entry, with its reason, for each subscriber the claim did not reach."""
    delivered_to = {
        d.authority for d in outcome.deliveries if d.claim is not None and d.claim.id == claim.id
    }
    state = outcome.profile.state
    entries = list(outcome.audit)
    for authority in sorted(directory.subscribers(claim.attribute)):
        if authority in delivered_to:
            continue
        verdict = gate(state, directory, authority, claim, now)
        reason = Withheld.NOT_CURRENT if verdict is ALLOWED else verdict.reason
        entries.append(
            AuditEntry(
                AuditDecision.WITHHELD,
                claim.resident,
                claim.id,
                "Claim",
                claim.source,
                reason=str(reason),
                attribute=claim.attribute,
                authority=authority,
                claim_id=claim.id,
                level=claim.level,
            )
        )
    return replace(outcome, audit=tuple(entries))


def decide_all(
    profile: Profile, items: Iterable[Input], directory: Directory, now: datetime
) -> list[Outcome]:
    """Decide many inputs in order (the reference the tests and replay compare against)."""
    outcomes = []
    for item in items:
        outcome = decide(profile, item, directory, now)
        outcomes.append(outcome)
        profile = outcome.profile
    return outcomes
