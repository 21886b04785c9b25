"""What each page shows, built from the read model's view of one resident: plain data in, rows out.

No HTTP, no templates: the routes call these and hand the rows to a template,
and the unit tests call them directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from consumers.readmodel import ConsentNow, Decision, ResidentView
from portal import _words as words

SHOWN_DECISIONS = frozenset({"delivered", "withheld", "consent_ended"})


@dataclass(frozen=True, slots=True)
class DetailRow:
    """One attribute on "Your details"."""

    attribute: str
    label: str
    lines: list[str]
    verified_by: str
    assurance: str
    verified_at: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One decision about an authority on "Who has your details"."""

    attribute: str
    outcome: str  # sent, not_sent, told_to_stop
    when: str
    confirmed: str | None
    reason: str
    unmatched: bool = False  # the authority could not match the resident's reference


@dataclass(slots=True)
class AuthorityHolding:
    """What one authority was sent, withheld and allowed, for "Who has your details"."""

    authority: str
    name: str
    status: str | None = None
    status_label: str = "Never agreed"
    allowed: list[str] = field(default_factory=list)
    local_reference: str | None = None
    expires: str | None = None
    rows: list[HistoryRow] = field(default_factory=list)

    @property
    def can_withdraw(self) -> bool:
        return self.status in ("active", "partly_withdrawn")


def details(view: ResidentView, resident_app: str) -> list[DetailRow]:
    """Each attribute held, its value, who verified it, at what level and when."""
    return [
        DetailRow(
            attribute=entry.attribute,
            label=words.attribute_name(entry.attribute),
            lines=words.value_lines(entry.attribute, entry.value),
            verified_by=words.source_name(entry.source, resident_app),
            assurance=words.level_name(entry.assurance),
            verified_at=words.when(entry.verified_at),
        )
        for entry in view.profile
    ]


def holdings(view: ResidentView) -> list[AuthorityHolding]:
    """Per authority: consent now, and every delivery (with its confirmation) and withholding."""
    by_authority: dict[str, AuthorityHolding] = {}

    def holding(authority: str) -> AuthorityHolding:
        if authority not in by_authority:
            by_authority[authority] = AuthorityHolding(authority, words.authority_name(authority))
        return by_authority[authority]

    for consent in view.consents:
        _with_consent(holding(consent.authority), consent)
    for decision in reversed(view.history):
        if decision.authority is None or decision.decision not in SHOWN_DECISIONS:
            continue
        holding(decision.authority).rows.append(_row(decision))
    return sorted(by_authority.values(), key=lambda h: (not h.can_withdraw, h.name))


def _with_consent(holding: AuthorityHolding, consent: ConsentNow) -> None:
    holding.status = consent.status
    holding.status_label = words.STATUSES.get(consent.status, consent.status)
    holding.allowed = [words.attribute_name(a) for a in consent.allowed]
    holding.local_reference = consent.local_reference
    holding.expires = words.when(consent.expires_at) if consent.expires_at else None


def _row(decision: Decision) -> HistoryRow:
    if decision.decision == "delivered":
        outcome = "sent"
    elif decision.decision == "consent_ended":
        outcome = "told_to_stop"
    else:
        outcome = "not_sent"
    return HistoryRow(
        attribute=words.attribute_name(decision.attribute),
        outcome=outcome,
        when=words.when(decision.recorded_at),
        confirmed=words.when(decision.acknowledged_at) if decision.acknowledged_at else None,
        reason=words.reason_text(decision.reason),
        unmatched=decision.acknowledged_status == "conflict",
    )


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """One attribute of a proposed share: exactly what would be sent, or why nothing would."""

    attribute: str
    label: str
    lines: list[str]
    verified_by: str
    assurance: str
    note: str

    @property
    def sent(self) -> bool:
        return bool(self.lines)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
