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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from streams.core.consent import ALLOWED, Withheld, active_grant, consented, gate
from streams.core.facts import (
    LEVELS,
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Input,
    Reevaluate,
    Retraction,
)
from streams.core.merge import EMPTY, ResidentState, best_claim, fold, is_retracted
from streams.core.outputs import (
    AuditDecision,
    AuditEntry,
    Delivery,
    Ending,
    decision_id,
)
from streams.core.subscriptions import Directory

ATTRIBUTES: tuple[str, ...] = (
    "full_name",
    "date_of_birth",
    "address",
    "email",
    "phone",
    "date_of_death",
)


@dataclass(frozen=True, slots=True)
class Holding:
    """What one authority holds for a resident: its reference, consented attributes, claim ids."""

    local_reference: str
    consented: frozenset[str] = frozenset()
    values: Mapping[str, str | None] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.consented and not self.values


@dataclass(frozen=True, slots=True)
class Profile:
    """One resident: the lattice state, the authorities' holdings, and decisions taken so far."""

    resident: str
    state: ResidentState = EMPTY
    holdings: Mapping[str, Holding] = field(default_factory=dict)
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """The new profile and everything to emit: endings first, then deliveries, then audit.

    Endings precede deliveries because a consent under a new local reference
    ends the old reference before the values are sent under the new one.
    """

    profile: Profile
    audit: tuple[AuditEntry, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    endings: tuple[Ending, ...] = ()
    rejected: str | None = None  # a reason when the input must also go to dead letter


def kind_of(item: Input) -> str:
    """A short name for an input's kind, used in audit entries."""
    return type(item).__name__


def source_of(item: Input) -> str:
    return getattr(item, "source", "") or ""


def decide(profile: Profile, item: Input, directory: Directory, now: datetime) -> Outcome:
    """Fold ``item`` into ``profile`` and decide the deliveries, endings and audit it causes."""
    state = profile.state
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
        case Reevaluate():  # pragma: no cover - handled before folding
            raise AssertionError("re-evaluations are not folded")


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
    cause = cause_item.id
    version = profile.sequence + 1
    resident = profile.resident
    holdings = dict(profile.holdings)
    deliveries: list[Delivery] = []
    endings: list[Ending] = []
    for authority, attributes in pairs.items():
        holding = holdings.get(authority)
        allowed = consented(state, authority, now) & attributes
        grant = state.grants.get(authority)
        if (
            holding is not None
            and grant is not None
            and allowed
            and grant.local_reference != holding.local_reference
        ):
            # A new reference for the resident: end everything under the old one.
            ended = tuple(sorted(holding.consented))
            if ended:
                endings.append(
                    _ending(resident, authority, holding, ended, "withdrawn", cause, version)
                )
            holding = None
        if holding is None:
            if not allowed or grant is None:
                continue
            holding = Holding(grant.local_reference)
        values = dict(holding.values)
        lost = sorted((holding.consented & attributes) - allowed)
        if lost:
            reason = (
                "expired"
                if all(
                    active_grant(state, authority, a, now) is Withheld.CONSENT_EXPIRED for a in lost
                )
                else "withdrawn"
            )
            endings.append(
                _ending(resident, authority, holding, tuple(lost), reason, cause, version)
            )
            for attribute in lost:
                values.pop(attribute, None)
        for attribute in sorted(attributes):
            minimum = directory.minimum_level(authority, attribute)
            if attribute not in allowed or minimum is None:
                values.pop(attribute, None)
                continue
            target = best_claim(state, attribute, minimum, exclude_source=authority)
            held = values.get(attribute, _ABSENT)
            target_id = target.id if target is not None else None
            if held == target_id or (target is None and held is _ABSENT):
                continue
            values[attribute] = target_id
            deliveries.append(
                Delivery(
                    decision_id(cause, "deliver", authority, attribute),
                    resident,
                    authority,
                    holding.local_reference,
                    attribute,
                    target,
                    version,
                )
            )
        consented_now = (holding.consented - attributes) | allowed
        new_holding = Holding(holding.local_reference, consented_now, values)
        if new_holding.is_empty():
            holdings.pop(authority, None)
        else:
            holdings[authority] = new_holding
    audit.extend(_audit_delivery(d, cause_item) for d in deliveries)
    audit.extend(entry for e in endings for entry in _audit_ending(e, cause_item))
    changed = (
        bool(deliveries or endings) or state is not profile.state or holdings != profile.holdings
    )
    new_profile = Profile(resident, state, holdings, version if changed else profile.sequence)
    return Outcome(new_profile, tuple(audit), tuple(deliveries), tuple(endings))


_ABSENT: object = object()


def _ending(
    resident: str,
    authority: str,
    holding: Holding,
    attributes: tuple[str, ...],
    reason: str,
    cause: str,
    version: int,
) -> Ending:
    return Ending(
        decision_id(cause, "end", authority, ",".join(attributes)),
        resident,
        authority,
        holding.local_reference,
        attributes,
        reason,
        version,
    )


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


def next_expiry(profile: Profile) -> datetime | None:
    """When this resident must next be looked at again: the earliest expiry of a consent in use."""
    times = [
        grant.expires_at
        for authority, grant in profile.state.grants.items()
        if grant.expires_at is not None
        and (holding := profile.holdings.get(authority)) is not None
        and holding.consented
    ]
    return min(times, default=None)


def view(profile: Profile, directory: Directory, now: datetime) -> dict[str, dict[str, str | None]]:
    """What each authority should hold now, computed from the state alone (for tests and replay)."""
    result: dict[str, dict[str, str | None]] = {}
    for authority in sorted(set(profile.state.grants) | set(profile.holdings)):
        allowed = consented(profile.state, authority, now)
        values: dict[str, str | None] = {}
        for attribute in sorted(allowed):
            minimum = directory.minimum_level(authority, attribute)
            if minimum is None:
                continue
            target = best_claim(profile.state, attribute, minimum, exclude_source=authority)
            if target is not None:
                values[attribute] = target.id
        if values:
            result[authority] = values
    return result


def level_name(level: int) -> str:
    return LEVELS[level]


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
