"""Reading the first stored profile format (a JSON object), which stores written before the
compact format still hold: no migration, each value is read as it is and written in the
current format (:mod:`streams.worker.stored`) the next time its resident is decided.

The first format kept the outbox inside the profile (``"o"``: the outputs, as text, of
every input not yet known sent, by input id) and wrote timestamps as ISO 8601 text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.core import (
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Holding,
    Profile,
    ResidentState,
    Retraction,
)
from streams.worker.outbox import Entry


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def outbox(d: dict[str, Any]) -> dict[str, Entry]:
    """The outbox a first-format profile kept, by input id, as bytes."""
    return {
        i: [(r[0], r[1].encode(), r[2].encode()) for r in entry]
        for i, entry in d.get("o", {}).items()
    }


def profile(d: dict[str, Any]) -> Profile:
    """A first-format profile (the outbox aside)."""
    resident = d["r"]
    at = datetime.fromisoformat
    claims = {
        c[0]: Claim(c[0], resident, c[1], c[2], c[3], c[4], c[5], at(c[6]), c[7]) for c in d["c"]
    }
    retractions = {
        x[0]: Retraction(x[0], resident, x[1], x[2], x[3], x[4], at(x[5]), x[6]) for x in d["x"]
    }
    grants = {
        g[1]: ConsentGrant(
            g[0], resident, g[1], frozenset(g[2]), g[3], g[4], _dt(g[5]), at(g[6]), g[7], g[8]
        )
        for g in d["g"]
    }
    withdrawals = {
        (w[0], w[1]): ConsentWithdrawal(w[2], resident, w[0], frozenset(w[3]), at(w[4]), w[5], w[6])
        for w in d["w"]
    }
    holdings = {a: Holding(h[0], frozenset(h[1]), h[2]) for a, h in d["h"].items()}
    state = ResidentState(claims, retractions, grants, withdrawals, d["s"])
    return Profile(resident, state, holdings, d["q"], frozenset(d.get("e", ())))
