"""The tamper-evident audit chain: pure hashing, signing and verification over plain data.

Each audit partition is one hash chain. A record's link is

    hash      = SHA-256(previous_hash || canonical bytes of the record without its chain)
    signature = HMAC-SHA256(key[key_id], hash)

so changing a record changes its hash (``changed``), dropping or moving one breaks the
next record's ``previous_hash`` (``removed`` / ``reordered``), and forging a consistent
chain needs the key (``bad_signature``). Verification accepts every key in the key ring,
so keys can be rotated: new records are signed with the current key id, older records
keep verifying with the retired keys. An exact byte-for-byte copy of a record already in
the chain is a redelivery, not a break.

The worker links each record when it sends it, and a worker taking a partition over (after
a restart, a crash or a handover) continues from the newest record the partition holds, so
the chain follows the topic's own order.

Nothing here touches Kafka, the clock or settings: ``Keys`` is built by the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import orjson

import schemas

GENESIS = "0" * 64
"""The ``previous_hash`` of the first record of a partition."""

HEAD_PREFIX = b"__audit_chain__:"
"""Table keys holding a partition's chain head (never a resident id, which is a UUID)."""

BreakKind = Literal[
    "changed", "removed", "reordered", "bad_signature", "unknown_key", "unchained", "unreadable"
]


@dataclass(frozen=True, slots=True)
class Keys:
    """The signing key (``current`` names it) and every key accepted when verifying."""

    current: str
    ring: Mapping[str, bytes]

    def signing_key(self) -> bytes:
        return self.ring[self.current]


@dataclass(frozen=True, slots=True)
class Link:
    """A record's place in its chain."""

    previous_hash: str
    hash: str
    signature: str
    key_id: str

    def as_chain(self) -> schemas.AuditChain:
        return schemas.AuditChain(
            previous_hash=self.previous_hash,
            hash=self.hash,
            signature=self.signature,
            key_id=self.key_id,
        )


@dataclass(frozen=True, slots=True)
class Break:
    """The first place a partition's chain does not hold."""

    partition: int
    offset: int
    kind: BreakKind


@dataclass(frozen=True, slots=True)
class Stored:
    """One audit record as read back: where it was, and its bytes."""

    partition: int
    offset: int
    value: bytes


def head_key(partition: int) -> bytes:
    """The table key of one audit partition's chain head."""
    return HEAD_PREFIX + str(partition).encode()


def is_reserved(key: bytes | None) -> bool:
    """Whether a table key is a chain head rather than a resident."""
    return bool(key) and key.startswith(HEAD_PREFIX)  # type: ignore[union-attr]


def canonical(record: schemas.AuditRecorded) -> bytes:
    """The bytes the chain covers: the record with its chain left out."""
    data = record.data.model_copy(update={"chain": None})
    return schemas.encode(record.model_copy(update={"data": data}))


def link_hash(previous_hash: str, content: bytes) -> str:
    """SHA-256 over the previous hash and the record's canonical bytes."""
    return hashlib.sha256(previous_hash.encode() + b"\n" + content).hexdigest()


def sign(key: bytes, hash_: str) -> str:
    """HMAC-SHA256 of a link's hash."""
    return hmac.new(key, hash_.encode(), hashlib.sha256).hexdigest()


def chain(
    record: schemas.AuditRecorded, previous_hash: str, keys: Keys
) -> tuple[schemas.AuditRecorded, str]:
    """The record with its link to ``previous_hash`` attached, and its hash (the new tip)."""
    hash_ = link_hash(previous_hash, canonical(record))
    link = Link(previous_hash, hash_, sign(keys.signing_key(), hash_), keys.current)
    data = record.data.model_copy(update={"chain": link.as_chain()})
    return record.model_copy(update={"data": data}), hash_


_UNLINKED_END = b',"chain":null}}'
"""How an unlinked audit record as ``streams.worker.audit_records.encode_audit`` writes it
ends: its data's ``chain``, the last field of the last field of the record, is null."""


def link_bytes(value: bytes, previous_hash: str, keys: Keys) -> tuple[bytes, str]:
    """An unlinked audit record's bytes linked to ``previous_hash``, and its hash (the new tip).

    The worker links a record when it sends it, in send order, so the chain follows the
    order records reach the topic whatever order the decisions were recorded in. This is
    on the per-record path, so it works on the bytes: an unlinked record as the worker
    encodes it is already its canonical form (``chain`` null), so it is hashed as it stands
    and the link is written in place of that null, with nothing parsed or encoded again.
    Anything else (a record that carries a link already) goes the long way through
    :func:`chain`.
    """
    if not value.endswith(_UNLINKED_END):
        event = schemas.decode(value)
        if not isinstance(event, schemas.AuditRecorded):
            raise ValueError("only audit records are linked into the chain")
        linked, hash_ = chain(event, previous_hash, keys)
        return schemas.encode(linked), hash_
    hash_ = link_hash(previous_hash, value)
    link = orjson.dumps(
        {
            "previous_hash": previous_hash,
            "hash": hash_,
            "signature": sign(keys.signing_key(), hash_),
            "key_id": keys.current,
        }
    )
    return b"".join((value[: -len(_UNLINKED_END)], b',"chain":', link, b"}}")), hash_


def tip_of(value: bytes | None) -> str:
    """The hash a new record links to, after the partition's newest record ``value``.

    An empty partition starts at the genesis. A newest record that carries no readable link
    (which ``verify`` reports) also restarts there rather than stopping the worker.
    """
    if value is None:
        return GENESIS
    link = link_of(value)
    return link.hash if link is not None else GENESIS


def link_of(value: bytes) -> Link | None:
    """The link a stored audit record carries (None when it carries none or is unreadable)."""
    try:
        event = schemas.decode(value)
    except schemas.InvalidEvent:
        return None
    if not isinstance(event, schemas.AuditRecorded) or event.data.chain is None:
        return None
    c = event.data.chain
    return Link(c.previous_hash, c.hash, c.signature, c.key_id)


def parse_keys(current_id: str, current: str, retired: str = "") -> Keys:
    """Keys from settings: the current ``id`` and secret, and ``"id:secret,id:secret"`` retired."""
    ring: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in retired.split(","))):
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id or not secret:
            raise ValueError("audit_keys must be 'id:secret' pairs separated by commas")
        ring[key_id] = secret.encode()
    ring[current_id] = current.encode()
    return Keys(current_id, ring)


def verify(records: Iterable[Stored], keys: Keys, genesis: str | None = GENESIS) -> Break | None:
    """The first break in one partition's records (in offset order), or None when intact.

    ``genesis=None`` anchors the chain at the first record's ``previous_hash``: for a
    partition whose oldest records retention has already deleted.
    """
    seen: dict[str, bytes] = {}  # hash -> bytes of every record accepted into the chain
    later: set[str] = set()
    parsed: list[tuple[Stored, schemas.AuditRecorded | None]] = []
    for stored in records:
        try:
            decoded = schemas.decode(stored.value)
        except schemas.InvalidEvent:
            parsed.append((stored, None))
            continue
        parsed.append((stored, decoded if isinstance(decoded, schemas.AuditRecorded) else None))
    for _, event in parsed:
        if event is not None and event.data.chain is not None:
            later.add(event.data.chain.hash)
    tip = genesis
    for stored, event in parsed:
        if event is None:
            return Break(stored.partition, stored.offset, "unreadable")
        link = event.data.chain
        if link is None:
            return Break(stored.partition, stored.offset, "unchained")
        if seen.get(link.hash) == stored.value:
            continue  # a redelivery: the same record, byte for byte
        if link_hash(link.previous_hash, canonical(event)) != link.hash:
            return Break(stored.partition, stored.offset, "changed")
        key = keys.ring.get(link.key_id)
        if key is None:
            return Break(stored.partition, stored.offset, "unknown_key")
        if not hmac.compare_digest(sign(key, link.hash), link.signature):
            return Break(stored.partition, stored.offset, "bad_signature")
        if tip is None:
            tip = link.previous_hash
        if link.previous_hash != tip:
            kind: BreakKind = "reordered" if link.previous_hash in later else "removed"
            return Break(stored.partition, stored.offset, kind)
        seen[link.hash] = stored.value
        tip = link.hash
    return None


HeadOutbox = dict[str, list[tuple[str, str, str]]]
"""Outputs of decisions that changed no profile, by input id: (topic, key, value)."""


@dataclass(slots=True)
class Head:
    """What a partition kept beside its profiles in stores written before outbox entries had
    keys of their own: the outbox of decisions that changed no profile (read, no longer
    written: ``streams.worker.keeping``)."""

    outbox: HeadOutbox = field(default_factory=dict)


def encode_head(head: Head) -> bytes:
    """A partition's head as stored in the worker's table."""
    return json.dumps({"o": head.outbox}, separators=(",", ":")).encode()


def decode_head(raw: bytes | None) -> Head:
    """The inverse of ``encode_head``; an absent head is the genesis."""
    if not raw:
        return Head()
    d = json.loads(raw)
    return Head({k: [(r[0], r[1], r[2]) for r in v] for k, v in d["o"].items()})
