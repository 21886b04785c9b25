"""Erasure (UK GDPR article 17): a resident's profile dropped, every holder told to delete.

Erasing is not a fact of the lattice: it ends the lattice state. The new
profile holds no claim, consent or holding, only the ids of the inputs it
dropped (``Profile.erased``), so a redelivered input cannot bring a value
back, and the decision count, so the versions every authority applies by keep
growing. Every authority holding anything is sent ``consent.ended`` with
reason ``erased``; the audit records each ending and one ``erased`` entry,
ids and reason codes only.
"""

from __future__ import annotations

from streams.core.facts import Erase
from streams.core.merge import EMPTY
from streams.core.outputs import AuditDecision, AuditEntry, Ending, decision_id
from streams.core.profile import Outcome, Profile

ERASED = "erased"


def erase(profile: Profile, item: Erase) -> Outcome:
    """The profile forgotten, every holder's ending, and the audit saying so."""
    version = profile.sequence + 1
    endings: list[Ending] = []
    audit: list[AuditEntry] = []
    for authority, holding in sorted(profile.holdings.items()):
        attributes = tuple(sorted(holding.consented | set(holding.values)))
        if not attributes:
            continue
        ending = Ending(
            decision_id(item.id, "end", authority, ",".join(attributes)),
            profile.resident,
            authority,
            holding.local_reference,
            attributes,
            ERASED,
            version,
        )
        endings.append(ending)
        audit.extend(
            AuditEntry(
                AuditDecision.CONSENT_ENDED,
                profile.resident,
                item.id,
                "Erase",
                "",
                reason=ERASED,
                attribute=attribute,
                authority=authority,
                decision_id=ending.decision_id,
                version=version,
            )
            for attribute in attributes
        )
    audit.append(
        AuditEntry(AuditDecision.ERASED, profile.resident, item.id, "Erase", "", reason=item.reason)
    )
    forgotten = profile.erased | frozenset(profile.state.seen) | {item.id}
    new_profile = Profile(profile.resident, EMPTY, {}, version, forgotten)
    return Outcome(new_profile, tuple(audit), (), tuple(endings))


def erased_again(profile: Profile, event_id: str, kind: str, source: str) -> Outcome:
    """An input an erasure already dropped (or an erasure seen again): no change."""
    entry = AuditEntry(
        AuditDecision.DUPLICATE, profile.resident, event_id, kind, source, reason=ERASED
    )
    return Outcome(profile, (entry,))
