"""Finding input records the consumer fetched but never handed to the agent; reading them again.

Around a rebalance Faust can drop records its consumer has already fetched (a
delivery cancelled when the flow stops, a partition paused on one thread and
not yet on the other) and rely on a seek to bring them back; when that seek does
not happen, the partition's position is past records the worker never saw. If
nothing else arrives it sits idle with work waiting; if later records do arrive,
Faust may even commit past the hole (its gap check is off by one at the head).

So the worker keeps its own account. :class:`Handed` holds, per input
partition, the offset the agent should be handed next: set wherever the
consumer is sought (the committed offsets after a rebalance, the start of the
log, the guard's own seeks) and moved on only by records handed over in order;
a record beyond it leaves a hole behind. On a timer, when the agent has been
idle for a whole interval (handed nothing, processing nothing, flow not
stopped) and a partition's fetch position stood still since the previous look
beyond that offset, the guard seeks the partition back to it. Records read
twice are duplicates, which the worker already absorbs (decision ids,
outboxes). Offsets the log no longer holds (retention, compaction) are passed
over: after a guard seek, the first record handed is where the log resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rps.logs import get_logger

log = get_logger("worker")


@dataclass(slots=True)
class Handed:
    """Per partition, the next offset the agent should be handed, and offsets handed past it."""

    next: dict[Hashable, int] = field(default_factory=dict)
    ahead: dict[Hashable, set[int]] = field(default_factory=dict)
    resuming: set[Hashable] = field(default_factory=set)
    limit: int = 100_000
    """Offsets remembered past a hole, per partition. A hole that lasts through a long busy
    spell would otherwise hold every later offset; beyond the limit they are not kept, and
    the worst that does is records read again after the guard's seek."""

    def sought(self, tp: Hashable, offset: int, *, by_guard: bool = False) -> None:
        """The consumer of ``tp`` was sought to ``offset``: the agent gets that record next."""
        self.next[tp] = offset
        self.ahead.pop(tp, None)
        if by_guard:
            self.resuming.add(tp)
        else:
            self.resuming.discard(tp)

    def handing(self, tp: Hashable, offset: int) -> None:
        """The agent is handed the record at ``offset``."""
        wanted = self.next.get(tp)
        if wanted is None or tp in self.resuming:
            # No seek seen, or the first record after the guard's: where the log resumes.
            self.resuming.discard(tp)
            self.next[tp] = max(offset + 1, wanted or 0)
            return
        if offset < wanted:
            return  # read again: a duplicate
        if offset > wanted:
            ahead = self.ahead.setdefault(tp, set())
            if len(ahead) < self.limit:
                ahead.add(offset)
            return
        ahead = self.ahead.get(tp, set())
        wanted += 1
        while wanted in ahead:
            ahead.discard(wanted)
            wanted += 1
        self.next[tp] = wanted

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """The partitions were revoked."""
        for tp in partitions:
            self.next.pop(tp, None)
            self.ahead.pop(tp, None)
            self.resuming.discard(tp)

    def left_behind(
        self, positions: Mapping[Hashable, int], previous: Mapping[Hashable, int]
    ) -> dict[Hashable, int]:
        """Partitions whose position stood still beyond their next wanted offset, with it."""
        return {
            tp: wanted
            for tp, position in positions.items()
            if (wanted := self.next.get(tp)) is not None
            and previous.get(tp) == position
            and position > wanted
        }


async def _positions(kafka: Any, partitions: list[Any]) -> dict[Any, int]:
    """Run on the consumer's thread: the fetch position of each still-assigned partition."""
    assigned = kafka.assignment()
    return {tp: await kafka.position(tp) for tp in partitions if tp in assigned}


async def _log_starts(kafka: Any, partitions: list[Any]) -> dict[Any, int]:
    """Run on the consumer's thread: the first offset each partition's log still holds."""
    return dict(await kafka.beginning_offsets(partitions))


class StallGuard:
    """Seeks back input partitions whose fetched records never reached the agent.

    The agent calls :meth:`handing` before it processes a record and :meth:`done`
    after; every seek of an input partition is reported to :meth:`sought`;
    revoked partitions go to :meth:`forget`; a timer calls :meth:`check`.
    """

    def __init__(self, app: Any, inputs: set[str], started: Callable[[], bool]) -> None:
        self._app = app
        self._inputs = inputs
        self._started = started  # the agent has begun taking records
        self.handed = Handed()
        self._received = 0
        self._busy = False
        self._received_at_look: int | None = None
        self._positions: dict[Any, int] = {}

    def sought(self, offsets: Mapping[Any, int]) -> None:
        """Input partitions were sought to these offsets (by Faust, or the worker)."""
        for tp, offset in offsets.items():
            if tp.topic in self._inputs:
                self.handed.sought(tp, offset)
                self._positions.pop(tp, None)

    def handing(self, tp: Any, offset: int) -> None:
        """The agent is about to process the record at ``offset`` of ``tp``."""
        self.handed.handing(tp, offset)
        self._received += 1
        self._busy = True

    def done(self) -> None:
        """The agent finished the record it was handed."""
        self._busy = False

    def forget(self, partitions: Iterable[Any]) -> None:
        """Partitions were revoked: what was handed from them no longer counts."""
        partitions = list(partitions)
        self.handed.forget(partitions)
        for tp in partitions:
            self._positions.pop(tp, None)

    def _idle(self) -> bool:
        """Nothing handed over since the previous look, nothing in hand, flow not stopped."""
        received, self._received_at_look = self._received_at_look, self._received
        flowing = self._app.consumer.flow_active  # stopped while a rebalance is under way
        return received == self._received and not self._busy and flowing and self._started()

    async def check(self) -> None:
        """Look at every assigned input partition once; seek back those left behind."""
        if not self._idle():
            self._positions.clear()
            return
        consumer = self._app.consumer
        thread = consumer._thread
        kafka = thread._ensure_consumer()
        assigned = [tp for tp in consumer.assignment() if tp.topic in self._inputs]
        positions: dict[Any, int] = await thread.call_thread(_positions, kafka, assigned)
        previous, self._positions = self._positions, positions
        behind: dict[Any, int] = self.handed.left_behind(positions, previous)
        if not behind or self._received != self._received_at_look or self._busy:
            return
        starts = await thread.call_thread(_log_starts, kafka, list(behind))
        for tp, wanted in behind.items():
            offset = max(wanted, starts.get(tp, 0))
            log.warning(
                "fetched inputs never reached the worker; reading them again",
                topic=tp.topic,
                partition=tp.partition,
                offset=offset,
                position=positions[tp],
            )
            await consumer.seek_wait({tp: offset})
            self.handed.sought(tp, offset, by_guard=True)
            self._positions.pop(tp, None)
