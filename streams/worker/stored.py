"""A resident's profile as the worker stores it (the table's values), and its outbox.

Compact JSON: the lattice state, the holdings, the decision count, and the
outbox of outputs not yet known sent. ``state_digest`` is what replay compares.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from streams.core import (
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Holding,
    Profile,
    ResidentState,
    Retraction,
)


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


Outbox = dict[str, list[tuple[str, str, str]]]
"""Outputs decided but not yet known to be in Kafka, by input id: (topic, key, value)."""


def encode_profile(profile: Profile, outbox: Outbox | None = None) -> bytes:
    """A profile as compact JSON: the lattice state, the holdings, the decision count, and
    the outbox of outputs that must be sent again if their input is seen again."""
    state = profile.state
    return orjson.dumps(
        {
            "o": outbox or {},
            "r": profile.resident,
            "q": profile.sequence,
            "c": [
                [
                    c.id,
                    c.attribute,
                    c.value,
                    c.level,
                    c.source,
                    c.method,
                    _ts(c.verified_at),
                    c.digest,
                ]
                for c in state.claims.values()
            ],
            "x": [
                [x.id, x.claim_id, x.attribute, x.source, x.reason, _ts(x.issued_at), x.digest]
                for x in state.retractions.values()
            ],
            "g": [
                [
                    g.id,
                    g.authority,
                    sorted(g.attributes),
                    g.purpose,
                    g.local_reference,
                    _ts(g.expires_at),
                    _ts(g.issued_at),
                    g.digest,
                    g.source,
                ]
                for g in state.grants.values()
            ],
            "w": [
                [a, attr, w.id, sorted(w.attributes), _ts(w.issued_at), w.digest, w.source]
                for (a, attr), w in state.withdrawals.items()
            ],
            "s": dict(state.seen),
            "h": {
                a: [h.local_reference, sorted(h.consented), dict(h.values)]
                for a, h in profile.holdings.items()
            },
        }
    )


MAX_RECORD_BYTES = 900 * 1024
"""A stored profile larger than this waits for the outputs in flight (its outbox) to be sent."""

MAX_STATE_BYTES = 512 * 1024
"""The most a resident's lattice state may take, encoded: the stored record (state, holdings
and outbox) must stay under Kafka's 1 MiB record limit, or the worker could not store it."""


def state_too_large(resident: str, state: ResidentState) -> bool:
    """Whether ``state``, encoded alone, passes ``MAX_STATE_BYTES`` (the input that would make
    it so is refused as ``state_too_large``, live and in replay alike)."""
    return len(encode_profile(Profile(resident, state))) > MAX_STATE_BYTES


def decode_stored(raw: bytes) -> tuple[Profile, Outbox]:
    """A stored profile and its outbox."""
    d = orjson.loads(raw)
    outbox: Outbox = {k: [(r[0], r[1], r[2]) for r in v] for k, v in d.get("o", {}).items()}
    return _profile(d), outbox


def decode_profile(raw: bytes) -> Profile:
    """The inverse of ``encode_profile`` (the outbox aside)."""
    return _profile(orjson.loads(raw))


def _profile(d: dict[str, Any]) -> Profile:
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
    return Profile(resident, state, holdings, d["q"])


def state_digest(state: ResidentState) -> str:
    """A digest of the lattice state alone (what replay compares): the ids and fingerprints seen
    plus the winners of every last-writer-wins register."""
    canonical = orjson.dumps(
        {
            "s": state.seen,
            "g": {a: g.id for a, g in state.grants.items()},
            "w": {f"{a}|{attr}": w.id for (a, attr), w in state.withdrawals.items()},
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()
