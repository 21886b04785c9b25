"""What the publisher sends and what Kafka gives back: an :class:`Outgoing` event, validated,
routed and keyed, and the :class:`Receipt` that says where Kafka wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Receipt:
    """Kafka's acknowledgement of one event: where it was written."""

    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event ready for the wire: validated, routed and keyed."""

    event_id: str
    topic: str
    key: bytes
    value: bytes
