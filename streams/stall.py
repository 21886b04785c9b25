"""Finding input records the consumer fetched but never handed to the agent; reading them again.

Around a rebalance Faust can drop records its consumer has already fetched (the
flow is stopped, a partition is paused on one thread and not yet on the other)
and rely on a seek to bring them back; when that seek does not happen, the
partition's position is past records the worker never saw, and it sits idle
with work waiting. The guard looks at every assigned input partition on a
timer: when, between two looks, the partition handed nothing more to the agent
and its position did not move, yet the position is beyond the next record the
agent should get, it seeks the partition back to that record. Records read
twice are duplicates, which the worker already absorbs (decision ids,
outboxes); a partition held back by a full agent buffer may be read again, at
worst, which costs time and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rps.logs import get_logger

log = get_logger("worker")


@dataclass(frozen=True, slots=True)
class Look:
    """What one look saw of a partition."""

    handed_over: int | None  # offset of the last record handed to the agent
    position: int  # the consumer's next fetch offset


def next_wanted(handed_over: int | None, committed: int | None, earliest: int) -> int:
    """The offset of the next record the agent should get."""
    if handed_over is not None:
        return handed_over + 1
    return committed if committed else earliest


def stalled(previous: Look | None, now: Look, wanted: int) -> bool:
    """Records were fetched past ``wanted`` and nothing moved since the previous look."""
    return previous == now and now.position > wanted


class StallGuard:
    """Seeks back input partitions whose fetched records never reached the agent."""

    def __init__(self, app: Any, inputs: set[str]) -> None:
        self._app = app
        self._inputs = inputs
        self._looks: dict[Any, Look] = {}

    async def check(self) -> None:
        """Look at every assigned input partition once; seek back the stalled ones."""
        consumer = self._app.consumer
        assigned = {tp for tp in consumer.assignment() if tp.topic in self._inputs}
        self._looks = {tp: look for tp, look in self._looks.items() if tp in assigned}
        for tp in assigned:
            position = await consumer.position(tp)
            if position is None:
                continue
            look = Look(consumer._read_offset.get(tp), position)
            previous, self._looks[tp] = self._looks.get(tp), look
            if previous != look:
                continue
            earliest = (await consumer.earliest_offsets(tp)).get(tp, 0)
            wanted = next_wanted(look.handed_over, consumer._committed_offset.get(tp), earliest)
            if stalled(previous, look, wanted):
                log.warning(
                    "fetched inputs never reached the worker; reading them again",
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=wanted,
                )
                await consumer.seek(tp, wanted)
                self._looks.pop(tp, None)
