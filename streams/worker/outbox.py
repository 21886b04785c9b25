"""The outbox rule, written once: record the decision, then send its outputs, then ack the input.

Every input settles one *outbox entry*: the encoded outputs of its decision,
kept under an entry id in the store until they are known to be in Kafka.

- An input whose decision changed the resident's profile keeps its entry in that
  profile, under the input's id.
- Any other input with outputs (a decision that changed no profile; a poison
  input filed under a resident) keeps it in its partition's audit *head*, under
  ``resident|id|digest`` or ``kafka:topic:partition:offset``.

The processor builds one :class:`Decision` per input: the store records to make
durable (``writes``) and the outputs to send (``records``). If the entry is
already in the store (decided and recorded before a restart), the decision is
the stored outputs again, byte for byte, with the store records written again
(a local store may be ahead of the changelog); nothing is decided twice.

The stages (:mod:`streams.worker.stages`) then keep the order: ``writes`` are in
the changelog before any of ``records`` is sent, and the input is acked only
once every record is in Kafka. Once it is, the entry is *known sent* and the
next write of its profile or head leaves it out. Dead letters are not kept in
an entry: they are built again from the input itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.worker.ports import Acknowledgeable

Record = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]
"""An output to send: (topic, key, value, headers)."""

Write = tuple[bytes, bytes]
"""A table changelog record to make durable before the outputs go: (key, value)."""

Entry = list[tuple[str, str, str]]
"""Outputs as kept in an outbox entry: (topic, key, value), as text."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What one input leaves to do: store records to make durable, then outputs to send."""

    entry: str
    """The outbox entry its outputs settle ("" for none)."""
    partition: int
    """Of the input, its changelog records and its audit records (one chain each)."""
    writes: list[Write]
    records: list[Record]


@dataclass(frozen=True, slots=True)
class Pending:
    """A decided input on its way out: the decision, and the input to ack after it."""

    event: Acknowledgeable
    decision: Decision


def kept(records: list[Record]) -> Entry:
    """Outputs as an outbox entry keeps them (headers are never kept: dead letters aside,
    the outputs carry none)."""
    return [(t, (k or b"").decode(), (v or b"").decode()) for t, k, v, _ in records]


def again(entry: Entry) -> list[Record]:
    """Outputs kept in an outbox entry, to send again."""
    return [(t, k.encode(), v.encode(), None) for t, k, v in entry]
