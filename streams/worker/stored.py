"""A resident's profile as the worker stores it (the table's values): the profile alone.

The current format (2) is a compact JSON array, the format's number first::

    [2, resident, sequence, claims, retractions, grants, withdrawals, seen, holdings, erased]

Records are positional lists; instants are integer microseconds since the epoch
(ISO 8601 text for the rare one not in UTC, so it is given back as it came);
``seen`` (the fingerprint of every input id) leaves out what the claims,
retractions, grants and withdrawals already say (each carries its own id and
fingerprint), holding only the rest (``null`` for a record's id not seen, which
the core never makes). The outbox is not here: each entry has a key of its own
(:mod:`streams.worker.entries`). Values of the first format (a JSON object,
with its outbox inside) are still read (:mod:`streams.worker.stored_v1`), and
written in this one the next time their resident is decided. ``state_digest``
is what replay compares.

Given the resident's data key, each claim's value is stored sealed
(``{"$sealed": envelope}``, the claim's id bound). Reading leaves them sealed:
the core never looks at a value, so only what is sent is opened
(``opened_value``), and a value sealed once is stored as it is from then on. A
value whose key is gone (an erasure) stays sealed, opaque.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
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
from streams.worker import entries, stored_v1
from streams.worker.audit_chain import is_reserved
from streams.worker.outbox import Entry

FORMAT = 2
"""The format profiles are written in (the first element of the stored array)."""

Outbox = dict[str, Entry]
"""A first-format profile's outbox: outputs not yet known sent, by input id."""

SEALED = "$sealed"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ZERO = timedelta(0)


def _ts(value: datetime | None) -> int | str | None:
    """An instant as integer microseconds (UTC), or its ISO text when it carries another offset."""
    if value is None:
        return None
    if value.utcoffset() == _ZERO:
        return (value - _EPOCH) // _MICROSECOND
    return value.isoformat()


def _at(value: int | str) -> datetime:
    if isinstance(value, int):
        return _EPOCH + value * _MICROSECOND
    return datetime.fromisoformat(value)


def _dt(value: int | str | None) -> datetime | None:
    return None if value is None else _at(value)


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


def encode_profile(profile: Profile, key: DataKey | None = None) -> bytes:
    """A profile in the current format; with the resident's data ``key``, each claim's value
    sealed."""
    state = profile.state
    claims = [
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
    ]
    retractions = [
        [x.id, x.claim_id, x.attribute, x.source, x.reason, _ts(x.issued_at), x.digest]
        for x in state.retractions.values()
    ]
    grants = [
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
    ]
    withdrawals = [
        [a, attr, w.id, sorted(w.attributes), _ts(w.issued_at), w.digest, w.source]
        for (a, attr), w in state.withdrawals.items()
    ]
    holdings = {
        a: [h.local_reference, sorted(h.consented), dict(h.values)]
        for a, h in profile.holdings.items()
    }
    return orjson.dumps(
        [
            FORMAT,
            profile.resident,
            profile.sequence,
            claims,
            retractions,
            grants,
            withdrawals,
            _unsaid(state),
            holdings,
            sorted(profile.erased),
        ]
    )


def _said(state: ResidentState) -> dict[str, str]:
    """The ids and fingerprints the state's records carry."""
    said = {c.id: c.digest for c in state.claims.values()}
    said |= {x.id: x.digest for x in state.retractions.values()}
    said |= {g.id: g.digest for g in state.grants.values()}
    said |= {w.id: w.digest for w in state.withdrawals.values()}
    return said


def _unsaid(state: ResidentState) -> dict[str, str | None]:
    """What ``seen`` holds that the records do not say (``None``: a record's id not seen)."""
    said = _said(state)
    rest: dict[str, str | None] = {i: d for i, d in state.seen.items() if said.get(i) != d}
    rest |= {i: None for i in said if i not in state.seen}
    return rest


def decode_stored(raw: bytes) -> tuple[Profile, Outbox]:
    """A stored profile and, for one of the first format, the outbox it kept (sealed values
    left sealed; empty for the current format, whose entries are stored on their own)."""
    d = orjson.loads(raw)
    if isinstance(d, dict):
        return stored_v1.profile(d), stored_v1.outbox(d)
    return _profile(d), {}


def decode_profile(raw: bytes) -> Profile:
    """The inverse of ``encode_profile``; a first-format value read too (its outbox aside)."""
    d = orjson.loads(raw)
    return stored_v1.profile(d) if isinstance(d, dict) else _profile(d)


def _profile(d: list[Any]) -> Profile:
    if d[0] != FORMAT:
        raise ValueError(f"stored profile format {d[0]} is not known")
    _, resident, sequence, cs, xs, gs, ws, rest, hs, erased = d
    at = _at
    claims = {c[0]: Claim(c[0], resident, c[1], c[2], c[3], c[4], c[5], at(c[6]), c[7]) for c in cs}
    retractions = {
        x[0]: Retraction(x[0], resident, x[1], x[2], x[3], x[4], at(x[5]), x[6]) for x in xs
    }
    grants = {
        g[1]: ConsentGrant(
            g[0], resident, g[1], frozenset(g[2]), g[3], g[4], _dt(g[5]), at(g[6]), g[7], g[8]
        )
        for g in gs
    }
    withdrawals = {
        (w[0], w[1]): ConsentWithdrawal(w[2], resident, w[0], frozenset(w[3]), at(w[4]), w[5], w[6])
        for w in ws
    }
    seen = _said(ResidentState(claims, retractions, grants, withdrawals))
    for record_id, digest in rest.items():
        if digest is None:
            seen.pop(record_id, None)
        else:
            seen[record_id] = digest
    holdings = {a: Holding(h[0], frozenset(h[1]), h[2]) for a, h in hs.items()}
    state = ResidentState(claims, retractions, grants, withdrawals, seen)
    return Profile(resident, state, holdings, sequence, frozenset(erased))


def is_profile_key(key: bytes | None) -> bool:
    """Whether a table key holds a resident's profile (not a chain head or an outbox entry)."""
    return bool(key) and not is_reserved(key) and not entries.is_entry_key(key)


MAX_STATE_BYTES = 512 * 1024
"""The most a resident's lattice state may take, encoded: the stored profile (state and
holdings) must stay under Kafka's 1 MiB record limit, or the worker could not store it."""


def state_too_large(resident: str, state: ResidentState) -> bool:
    """Whether ``state``, encoded alone, passes ``MAX_STATE_BYTES`` (the input that would make
    it so is refused as ``state_too_large``, live and in replay alike)."""
    return len(encode_profile(Profile(resident, state))) > MAX_STATE_BYTES


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
