"""A resident's profile as the worker stores it (the table's values), and its outbox.

Compact JSON: the lattice state, the holdings, the decision count, the ids an
erasure dropped, and the outbox of outputs not yet known sent. ``state_digest``
is what replay compares.

Given the resident's data key, each claim's value is stored sealed
(``{"$sealed": envelope}``, the claim's id bound) and each kept output's bytes
too (the input's id bound). Reading leaves them sealed: the core never looks at
a value, so only what is sent is opened (``opened_value``, ``opened_entry``),
and a value sealed once is stored as it is from then on. A value whose key is
gone (an erasure) stays sealed, opaque.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from typing import Any

import orjson

from rps.sealing import DataKey, SealingError, open_sealed, seal
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


SEALED = "$sealed"


def _sealed(key: DataKey | None, claim: Claim) -> Any:
    if key is None or _is_sealed(claim.value):
        return claim.value
    return {SEALED: seal(key, claim.value, claim.resident, claim.id)}


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and SEALED in value


def opened_value(key: DataKey | None, value: Any, resident: str, claim_id: str) -> Any:
    """A claim's value, opened if it is sealed and ``key`` opens it (else as it is)."""
    if key is None or not _is_sealed(value):
        return value
    try:
        return open_sealed(key, value[SEALED], resident, claim_id)
    except SealingError:
        return value  # erased (or not ours): stays sealed, opaque


def _sealed_outbox(
    outbox: Outbox,
    key: DataKey | None,
    resident: str,
    plain: frozenset[str],
    sealed: frozenset[str] = frozenset(),
) -> Outbox:
    """Each kept output's bytes sealed (bound to resident and input), but those of ``plain``
    and those for the topics in ``sealed`` (their records hold nothing personal unsealed)."""
    if key is None:
        return outbox
    return {
        i: entry
        if i in plain
        else [
            (
                t,
                k,
                v
                if v.startswith(SEALED) or t in sealed
                else SEALED + seal(key, v, resident, f"outbox|{i}"),
            )
            for t, k, v in entry
        ]
        for i, entry in outbox.items()
    }


def opened_entry(
    key: DataKey | None, resident: str, input_id: str, entry: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """One input's kept outputs, their sealed bytes opened where ``key`` opens them."""
    if key is None:
        return entry
    records = []
    for t, k, v in entry:
        if v.startswith(SEALED):
            with contextlib.suppress(SealingError):  # erased: stays sealed
                v = open_sealed(key, v[len(SEALED) :], resident, f"outbox|{input_id}")
        records.append((t, k, v))
    return records


def encode_profile(
    profile: Profile,
    outbox: Outbox | None = None,
    key: DataKey | None = None,
    plain: frozenset[str] = frozenset(),
    sealed: frozenset[str] = frozenset(),
) -> bytes:
    """A profile as compact JSON: the lattice state, the holdings, the decision count, and
    the outbox of outputs that must be sent again if their input is seen again; with the
    resident's data ``key``, each claim's value and each kept output sealed (but the
    outputs of the inputs in ``plain``: an erasure's, whose key is about to go; and those
    for the topics in ``sealed``, whose records are sealed already: the facts log's)."""
    state = profile.state
    return orjson.dumps(
        {
            "o": _sealed_outbox(outbox or {}, key, profile.resident, plain, sealed),
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
    """A stored profile and its outbox (sealed values left sealed)."""
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
    return Profile(resident, state, holdings, d["q"], frozenset(d.get("e", ())))


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
