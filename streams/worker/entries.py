"""Outbox entries as the worker stores them: each under a key of its own in the profile table.

An entry is one input's outputs, kept until they are known to be in Kafka
(:mod:`streams.worker.outbox` states the rule). It lives beside the profiles,
in the resident's changelog partition, under ``__outbox__:<entry id>``, and is
deleted (a tombstone on the changelog) once its outputs are acknowledged, so
a stored profile is the profile alone.

The value is a small binary frame, not JSON, so the outputs' bytes are kept as
they are (no escaping): a format byte, a flags byte (whether the decision
changed the resident's profile), then length-prefixed fields: the id the
sealed outputs are bound to, and (topic, key, value) per output, a value of
``None`` written as the length ``0xFFFFFFFF``.

Given the resident's data key, each output's value is sealed (bound to the
resident and ``outbox|<input id>``, as the first format's profile outboxes
were), unless the entry is kept plain (an erasure's, whose key is about to go)
or the output's topic is one whose records are sealed already (the facts
log's: not sealed twice); ``opened`` opens them where the key does.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass

from rps.sealing import DataKey, SealingError, open_sealed, seal
from streams.worker.outbox import Entry

PREFIX = b"__outbox__:"
"""Table keys holding an outbox entry (never a resident id, which is a UUID)."""

SEALED = b"$sealed"
_FORMAT = 1
_CHANGED = 1
_NONE = 0xFFFFFFFF
_LENGTH = struct.Struct(">I")


def entry_key(entry: str) -> bytes:
    """The table key of outbox entry ``entry``."""
    return PREFIX + entry.encode()


def is_entry_key(key: bytes | None) -> bool:
    """Whether a table key holds an outbox entry rather than a resident."""
    return bool(key) and key.startswith(PREFIX)  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class Kept:
    """An entry as read back: whether its decision changed the profile, the id its sealed
    outputs are bound to, and the outputs (sealed values left sealed)."""

    changed: bool
    bound: str
    outputs: Entry


def encode_entry(
    outputs: Entry,
    changed: bool,
    bound: str,
    key: DataKey | None = None,
    resident: str = "",
    sealed: frozenset[str] = frozenset(),
) -> bytes:
    """An entry's stored bytes; with ``key``, each output's value sealed for ``resident``
    (but those for the topics in ``sealed``, whose records are sealed already)."""
    fields: list[bytes | None] = [bound.encode()]
    for topic, k, v in outputs:
        if key is not None and v is not None and not v.startswith(SEALED) and topic not in sealed:
            v = SEALED + seal(key, v.decode(), resident, f"outbox|{bound}").encode()
        fields += (topic.encode(), k, v)
    parts = [bytes((_FORMAT, _CHANGED if changed else 0))]
    for field in fields:
        if field is None:
            parts.append(_LENGTH.pack(_NONE))
        else:
            parts += (_LENGTH.pack(len(field)), field)
    return b"".join(parts)


def decode_entry(raw: bytes) -> Kept:
    """The inverse of :func:`encode_entry` (sealed values left sealed)."""
    if raw[0] != _FORMAT:
        raise ValueError(f"outbox entry format {raw[0]} is not known")
    fields: list[bytes | None] = []
    at = 2
    while at < len(raw):
        (length,) = _LENGTH.unpack_from(raw, at)
        at += _LENGTH.size
        if length == _NONE:
            fields.append(None)
            continue
        fields.append(raw[at : at + length])
        at += length
    bound, rest = fields[0] or b"", fields[1:]
    outputs = [((t or b"").decode(), k, v) for t, k, v in zip(*[iter(rest)] * 3, strict=True)]
    return Kept(bool(raw[1] & _CHANGED), bound.decode(), outputs)


def opened(key: DataKey | None, resident: str, kept: Kept) -> Entry:
    """An entry's outputs, their sealed values opened where ``key`` opens them (an erased
    resident's stay sealed)."""
    if key is None:
        return kept.outputs
    outputs: Entry = []
    for topic, k, v in kept.outputs:
        if v is not None and v.startswith(SEALED):
            with contextlib.suppress(SealingError):
                text = v[len(SEALED) :].decode()
                v = str(open_sealed(key, text, resident, f"outbox|{kept.bound}")).encode()
        outputs.append((topic, k, v))
    return outputs
