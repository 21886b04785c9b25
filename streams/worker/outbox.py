"""The outbox rule, written once: record the decision, then send its outputs, then ack the input.

Every input with outputs settles one *outbox entry*: the encoded outputs of its
decision, kept in the store under a key of its own (``__outbox__:<entry id>``,
:mod:`streams.worker.entries`) until they are known to be in Kafka. The entry id
is ``resident|input id|digest``, or ``kafka:topic:partition:offset`` for a poison
input; the entry says whether its decision changed the resident's profile.

The processor builds one :class:`Decision` per input: the entry to record
(``kept``), the profile records to record after it (``writes``) and the outputs
to send (``records``). If the entry is already in the store (decided and
recorded before a restart) and, when its decision changed the profile, the
profile has seen the input, the decision is the stored outputs again, byte for
byte, with the records written again (a local store may be ahead of the
changelog); nothing is decided twice. An entry whose decision changed the
profile but whose profile never saw the input (recorded, then a crash before
the profile was) is stale: the input is decided afresh and the entry replaced.

The stages (:mod:`streams.worker.stages`) then keep the order: ``kept`` is in
the changelog before ``writes`` (so a recorded profile always has its entry),
both before any of ``records`` is sent, and once every record is in Kafka the
entry is deleted (a tombstone, flushed before the input's offset is committed)
and the input acked. A stored profile is then the profile alone. Dead letters
are not kept in an entry: they are built again from the input itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.worker.ports import Acknowledgeable

Record = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]
"""An output to send: (topic, key, value, headers)."""

Write = tuple[bytes, bytes]
"""A table changelog record to make durable before the outputs go: (key, value)."""

Entry = list[tuple[str, bytes | None, bytes | None]]
"""Outputs as kept in an outbox entry: (topic, key, value)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What one input leaves to do: its outbox entry and profile to make durable, in that
    order, then outputs to send, then the entry to delete."""

    entry: str
    """The outbox entry its outputs settle ("" for none)."""
    partition: int
    """Of the input, its changelog records and its audit records (one chain each)."""
    writes: list[Write]
    """Profile records, recorded once every entry in ``kept`` is."""
    records: list[Record]
    kept: list[Write] = field(default_factory=list)
    """Outbox entries under their own keys, recorded first; the one under ``entry`` is
    deleted once ``records`` are in Kafka."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A decided input on its way out: the decision, and the input to ack after it."""

    event: Acknowledgeable
    decision: Decision


def kept(records: list[Record]) -> Entry:
    """Outputs as an outbox entry keeps them (headers are never kept: dead letters aside,
    the outputs carry none)."""
    return [(t, k, v) for t, k, v, _ in records]


def again(entry: Entry) -> list[Record]:
    """Outputs kept in an outbox entry, to send again."""
    return [(t, k, v, None) for t, k, v in entry]
