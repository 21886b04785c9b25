"""Fault injection for the tests: the process stopped between record and send, or between send
and ack; inputs fetched by the consumer but never handed to the agent.

With ``RPS_FAULT_CRASH_AT=recorded`` (or ``sent``) and ``RPS_FAULT_CRASH_AFTER=N``
the worker stops at once (exit 86) when its N-th decision is in the changelog
with its outputs not sent (or its N-th input has its outputs in Kafka, its
offset not committed): the two points the outbox rule must survive.

Faust can lose records it fetched around a rebalance (see ``streams.runtime.stall``);
that race cannot be provoked on demand, so the tests provoke its effect instead.
With ``RPS_FAULT_DROP_AFTER=N`` the worker, after its N-th input, passes over
the next ``RPS_FAULT_DROP_COUNT`` records of the same partition without
processing or acknowledging them, each once: exactly what the agent sees when
Faust drops fetched records and moves on.
"""

from __future__ import annotations

import os

from faust.types import TP

from rps.logs import get_logger
from rps.settings import Settings

log = get_logger("worker")


class FetchedButDropped:
    """Decides, record by record, whether the injected fault drops it."""

    def __init__(self, after: int, count: int) -> None:
        self._after = after
        self._left = count
        self._seen = 0
        self._partition: TP | None = None
        self._dropped: set[tuple[TP, int]] = set()

    def drops(self, tp: TP, offset: int) -> bool:
        """True when the record at ``offset`` of ``tp`` is to vanish before the agent."""
        if not self._after:
            return False
        self._seen += 1
        if self._seen == self._after:
            self._partition = tp
            return False
        if tp != self._partition or not self._left or (tp, offset) in self._dropped:
            return False
        self._dropped.add((tp, offset))
        self._left -= 1
        log.warning("fault injected: input dropped", partition=tp.partition, offset=offset)
        return True


class CrashPoints:
    """The stages' :class:`~streams.worker.ports.Checkpoints`: stops the process where told."""

    def __init__(self, settings: Settings) -> None:
        self._after = settings.fault_crash_after
        self._at = settings.fault_crash_at

    def recorded(self, before: int, after: int) -> None:
        if self._at == "recorded" and before < self._after <= after:
            os._exit(86)  # fault injection: decisions recorded, outputs not sent

    def settled(self, count: int) -> None:
        if self._at == "sent" and count == self._after:
            os._exit(86)  # fault injection: outputs sent, offset not committed
