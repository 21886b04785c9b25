"""Fault injection for the tests: inputs fetched by the consumer but never handed to the agent.

Faust can lose records it fetched around a rebalance (see ``streams.stall``);
that race cannot be provoked on demand, so the tests provoke its effect instead.
With ``RPS_FAULT_DROP_AFTER=N`` the worker, after its N-th input, passes over
the next ``RPS_FAULT_DROP_COUNT`` records of the same partition without
processing or acknowledging them, each once: exactly what the agent sees when
Faust drops fetched records and moves on.
"""

from __future__ import annotations

from typing import Any

from rps.logs import get_logger

log = get_logger("worker")


class FetchedButDropped:
    """Decides, record by record, whether the injected fault drops it."""

    def __init__(self, after: int, count: int) -> None:
        self._after = after
        self._left = count
        self._seen = 0
        self._partition: Any = None
        self._dropped: set[tuple[Any, int]] = set()

    def drops(self, tp: Any, offset: int) -> bool:
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
