"""How profiles were stored before the compact format (a JSON object holding its outbox), kept
as it was written so the tests can prove such stores are still read, with no migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from rps.sealing import DataKey, seal
from streams.core import Claim, Profile

SEALED = "$sealed"


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _sealed(key: DataKey | None, claim: Claim) -> Any:
    if key is None or (isinstance(claim.value, dict) and SEALED in claim.value):
        return claim.value
    return {SEALED: seal(key, claim.value, claim.resident, claim.id)}


def encode_profile(
    profile: Profile,
    outbox: dict[str, list[tuple[str, str, str]]] | None = None,
    key: DataKey | None = None,
) -> bytes:
    """A profile and its outbox as the first format wrote them (outputs as text, sealed with
    ``key`` bound to ``outbox|<input id>``)."""
    state = profile.state
    box = {
        i: [
            (t, k, v if key is None else SEALED + seal(key, v, profile.resident, f"outbox|{i}"))
            for t, k, v in entry
        ]
        for i, entry in (outbox or {}).items()
    }
    return orjson.dumps(
        {
            "o": box,
            "r": profile.resident,
            "q": profile.sequence,
            "c": [
                [
                    c.id,
                    c.attribute,
                    _sealed(key, c),
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
            **({"e": sorted(profile.erased)} if profile.erased else {}),
        }
    )
