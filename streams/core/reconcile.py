"""Reconciling one authority: its new holding, and the deliveries and endings that bring it there.

An authority entitled to an attribute (subscribed, consented) is sent the best
claim it may see whenever that differs from what it holds, and told when none
stands any more; a consent that ended (withdrawn, expired) is ended, and a new
local reference ends everything under the old one first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from streams.core.consent import Withheld, active_grant, consented
from streams.core.facts import Claim
from streams.core.merge import ResidentState, best_claim
from streams.core.outputs import Delivery, Ending, decision_id
from streams.core.profile import Holding
from streams.core.subscriptions import Directory


@dataclass(frozen=True, slots=True)
class Point:
    """Where a decision is taken: about whom, for which authority, caused by what, at what
    version of the resident's profile."""

    resident: str
    authority: str
    cause: str
    version: int


def reconcile_authority(
    state: ResidentState,
    directory: Directory,
    now: datetime,
    at: Point,
    attributes: frozenset[str],
    holding: Holding | None,
) -> tuple[Holding, list[Delivery], list[Ending]] | None:
    """One authority's new holding, with the deliveries and endings that bring it there;
    None when it holds nothing and may hold nothing."""
    resident, authority, cause, version = at.resident, at.authority, at.cause, at.version
    endings: list[Ending] = []
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
            endings.append(ending(resident, authority, holding, ended, "withdrawn", cause, version))
        holding = None
    if holding is None:
        if not allowed or grant is None:
            return None
        holding = Holding(grant.local_reference)
    values = dict(holding.values)
    lost = sorted((holding.consented & attributes) - allowed)
    if lost:
        reason = why_lost(state, authority, lost, now)
        endings.append(ending(resident, authority, holding, tuple(lost), reason, cause, version))
        for attribute in lost:
            values.pop(attribute, None)
    deliveries = [
        Delivery(
            decision_id(cause, "deliver", authority, attribute),
            resident,
            authority,
            holding.local_reference,
            attribute,
            target,
            version,
        )
        for attribute, target in changes(state, directory, authority, attributes, allowed, values)
    ]
    consented_now = (holding.consented - attributes) | allowed
    return Holding(holding.local_reference, consented_now, values), deliveries, endings


_ABSENT: object = object()


def why_lost(state: ResidentState, authority: str, lost: list[str], now: datetime) -> str:
    """``expired`` when every lost attribute's consent ran out, else ``withdrawn``."""
    expired = all(active_grant(state, authority, a, now) is Withheld.CONSENT_EXPIRED for a in lost)
    return "expired" if expired else "withdrawn"


def changes(
    state: ResidentState,
    directory: Directory,
    authority: str,
    attributes: frozenset[str],
    allowed: frozenset[str],
    values: dict[str, str | None],
) -> list[tuple[str, Claim | None]]:
    """Per attribute, the claim that now stands for ``authority`` (None for none), where it
    differs from what the authority holds; ``values`` (what it holds) is brought up to date."""
    changes: list[tuple[str, Claim | None]] = []
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
        changes.append((attribute, target))
    return changes


def ending(
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
