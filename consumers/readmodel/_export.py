"""A resident's own copy of everything the hub holds about them (UK GDPR article 15).

One JSON-ready document: every value held (every claim, with its provenance,
assurance and whether it stands or was retracted), every consent as it stands
and its history, every decision about the resident (deliveries, withholdings
with their reasons, consent endings, with each authority's acknowledgement),
and every erasure. Everything is read by resident id, so nothing about another
resident can appear in it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from consumers.readmodel._views import Decision, ReadModel

FORMAT = "rps.subject-access.v1"

_CONSENT_DECISIONS = frozenset({"consent_recorded", "consent_ended"})
_SENT_DECISIONS = frozenset({"delivered", "withheld", "consent_ended"})


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _decision(d: Decision) -> dict[str, Any]:
    out = asdict(d)
    out["recorded_at"] = _instant(d.recorded_at)
    out["acknowledged_at"] = _instant(d.acknowledged_at)
    return out


async def export(model: ReadModel, resident: str, now: datetime) -> dict[str, Any]:
    """The subject-access document of ``resident`` as the read model holds it at ``now``."""
    view = await model.resident(resident, now)
    history = [_decision(d) for d in view.history]
    return {
        "format": FORMAT,
        "resident": resident,
        "produced_at": now.isoformat(),
        "profile": [
            {**asdict(entry), "verified_at": _instant(entry.verified_at)} for entry in view.profile
        ],
        "claims": [
            {
                "attribute": c.attribute,
                "value": c.value,
                "claim_id": c.claim_id,
                "reported_by": c.source,
                "assurance": c.assurance,
                "method": c.method,
                "verified_at": _instant(c.verified_at),
                "retracted": {"reason": c.retracted_reason, "at": _instant(c.retracted_at)}
                if c.retracted_reason is not None
                else None,
            }
            for c in await model.claims(resident)
        ],
        "consents": [
            {
                key: _instant(value) if isinstance(value, datetime) else value
                for key, value in asdict(consent).items()
            }
            for consent in view.consents
        ],
        "consent_history": [d for d in history if d["decision"] in _CONSENT_DECISIONS],
        "sent": [d for d in history if d["decision"] in _SENT_DECISIONS],
        "erasures": [d for d in history if d["decision"] == "erased"],
        "decisions": history,
    }
