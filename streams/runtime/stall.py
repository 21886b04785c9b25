"""Finding input records the consumer fetched but never handed to the agent; reading them again.

Around a rebalance Faust can drop records its consumer has already fetched (a
delivery cancelled when the flow stops, a partition paused on one thread and
not yet on the other) and rely on a seek to bring them back; when that seek does
not happen, the partition's position is past records the worker never saw. If
later records arrive, the agent is handed them *before* the missing ones: a
retraction decided before the claim it retracts, or a claim before the consent
it needs. Faust even marks the missing offsets as a gap it may commit past, so a
crash after that would lose them. If nothing else arrives, the partition sits
idle with work waiting.

So the worker keeps its own account. :class:`Handed` holds, per input
partition, the offset the agent should be handed next: set wherever the
consumer is sought (the committed offsets after a rebalance, the start of the
log, the guard's own seeks) and moved on only by records handed over in order.

- A record *beyond* that offset is not processed (:meth:`Handed.handing` says
  :data:`REWIND`, then :data:`SKIP` for the records fetched after it): they are
  passed over, unacknowledged, until the partition is read again from the hole.
  The guard's timer asks for a seek back there at each look (outside a
  rebalance) until the hole is read.
- On the same timer, when the agent has been idle for a whole interval (handed
  nothing, processing nothing, flow not stopped) and a partition's fetch
  position stood still since the previous look beyond that offset, the guard
  asks for a seek back to it, and holds the partition as in a rewind.

The seek is made at the consumer's next fetch, once Faust has handed on every
record of the batch before it (:meth:`StallGuard.attach`). Faust hands a
record on only at or above the last offset it handed from that partition, and
records of a batch fetched before a seek would raise that mark past the hole:
the read from the hole was then dropped below it, and the one record at the
mark handed again. Seeking between batches, every record after the seek comes
from the read from the hole, and that read's first record, as fetched, is where
the log resumes (offsets the log does not hold, a transaction's marker,
compaction or retention, are not asked for again). A rewind ends only at the
hole itself or at that record; any other record is passed over and comes
again. A record below the hole is a duplicate from an earlier read and ends
no rewind. So the agent is handed every partition's records in order, and
none is passed over for good.

Records read twice are duplicates, which the worker already absorbs (decision
ids, outboxes).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import IllegalStateError

from rps.logs import get_logger

log = get_logger("worker")


class Verdict(enum.Enum):
    """What the agent does with a record it was handed."""

    TAKE = "take"
    """Process the record."""
    SKIP = "skip"
    """Pass over the record, unacknowledged: it was fetched before a rewind, and comes again."""
    REWIND = "rewind"
    """A hole before the record: pass over it; the timer seeks back to the hole."""


TAKE, SKIP, REWIND = Verdict.TAKE, Verdict.SKIP, Verdict.REWIND


@dataclass(slots=True)
class Handed:
    """Per partition, the next offset the agent should be handed, and rewinds under way."""

    next: dict[Hashable, int] = field(default_factory=dict)
    rewinding: dict[Hashable, int] = field(default_factory=dict)
    """Partitions with a hole, to be sought back to it: the highest offset passed over."""
    resumes: dict[Hashable, int] = field(default_factory=dict)
    """Partitions in a rewind read again by the guard: the first offset that read fetched."""

    def sought(self, tp: Hashable, offset: int) -> None:
        """The consumer of ``tp`` was sought to ``offset`` (not by the guard): the agent gets
        that record next."""
        self.next[tp] = offset
        self.rewinding.pop(tp, None)
        self.resumes.pop(tp, None)

    def hold(self, tp: Hashable) -> None:
        """The guard seeks ``tp`` back to the next offset wanted: records beyond it are passed
        over, as in a rewind, until the read from there arrives."""
        self.rewinding.setdefault(tp, self.next[tp] - 1)

    def resumed(self, tp: Hashable, offset: int) -> None:
        """The read from the guard's seek of ``tp`` fetched ``offset`` first: where the log
        resumes (the log holds nothing between the hole and it)."""
        if tp in self.rewinding:
            self.resumes[tp] = offset

    def handing(self, tp: Hashable, offset: int) -> Verdict:
        """The record at ``offset`` reached the agent: :data:`TAKE`, :data:`SKIP` or
        :data:`REWIND` (to ``next[tp]``)."""
        wanted = self.next.get(tp)
        if wanted is None:  # no seek seen: where the log resumes
            self.next[tp] = offset + 1
            return TAKE
        if offset < wanted:
            # Handed before: a duplicate, from a read begun before a seek. It ends no rewind.
            return TAKE
        skipped = self.rewinding.get(tp)
        if skipped is not None:
            if offset == wanted or offset == self.resumes.get(tp):
                # The hole itself, or the first record of the read from it: the log resumes.
                del self.rewinding[tp]
                self.resumes.pop(tp, None)
                self.next[tp] = offset + 1
                return TAKE
            # Fetched before the read from the hole, or handed again by Faust after dropping
            # that read's records below it: it says nothing of what the log holds before it.
            self.rewinding[tp] = max(skipped, offset)
            return SKIP
        if offset > wanted:
            self.rewinding[tp] = offset
            return REWIND
        self.next[tp] = wanted + 1
        return TAKE

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """The partitions were revoked."""
        for tp in partitions:
            self.next.pop(tp, None)
            self.rewinding.pop(tp, None)
            self.resumes.pop(tp, None)

    def left_behind(
        self, positions: Mapping[Hashable, int], previous: Mapping[Hashable, int]
    ) -> dict[Hashable, int]:
        """Partitions whose position stood still beyond their next wanted offset, with it
        (those with a rewind under way are the rewind's to seek)."""
        return {
            tp: wanted
            for tp, position in positions.items()
            if (wanted := self.next.get(tp)) is not None
            and tp not in self.rewinding
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

    The agent calls :meth:`handing` for every record it gets and, when that says so,
    processes it and calls :meth:`done` after; every seek of an input partition is
    reported to :meth:`sought`; revoked partitions go to :meth:`forget`; a timer calls
    :meth:`check`; :meth:`attach` makes the seeks it asks for at the consumer's fetches.
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
        self._seeks: dict[Any, int] = {}  # to seek back at the next fetch: the least offset
        self._reading: set[Any] = set()  # sought back; the read's first record not fetched yet

    def attach(self, *also: Callable[[Mapping[Any, Sequence[Any]]], None]) -> None:
        """Make the seeks the guard asks for just before the consumer fetches.

        Faust's fetcher hands on a fetched batch record by record, and a seek made while it
        does leaves the rest of the batch to be handed on after it (see the module's text);
        at the next fetch the batch is done. The first record fetched after the seek is
        noted as where the log resumes. Each of ``also`` is then shown the fetched batch
        too (the worker's one hook into what is fetched: the keys read ahead)."""
        consumer = self._app.consumer
        fetch = consumer._getmany

        async def fetch_after_seeks(*args: Any, **kwargs: Any) -> Any:
            await self._seek_asked()
            records = await fetch(*args, **kwargs)
            self._fetched(records)
            for fetched in also:
                fetched(records)
            return records

        consumer._getmany = fetch_after_seeks

    def sought(self, offsets: Mapping[Any, int]) -> None:
        """Input partitions were sought to these offsets (by Faust, or the worker)."""
        for tp, offset in offsets.items():
            if tp.topic in self._inputs:
                self.handed.sought(tp, offset)
                self._positions.pop(tp, None)
                self._seeks.pop(tp, None)
                self._reading.discard(tp)

    def handing(self, tp: Any, offset: int) -> bool:
        """The record at ``offset`` of ``tp`` reached the agent: whether to process it now.

        A record beyond a hole is not: the guard's timer asks for a seek back to the hole.
        (Not the agent: a seek waits for the consumer's thread, which in a rebalance waits
        for the agent to let go of its records.)"""
        verdict = self.handed.handing(tp, offset)
        if verdict == REWIND:
            log.warning(
                "inputs fetched past a hole; held until the hole is read again",
                topic=tp.topic,
                partition=tp.partition,
                offset=self.handed.next[tp],
                position=offset,
            )
        if verdict != TAKE:
            return False
        self._received += 1
        self._busy = True
        return True

    async def _seek_asked(self) -> None:
        """Seek the partitions asked for back to their hole, and drop Faust's gap from there.

        Faust marks offsets it saw skipped as a gap it may commit past without their
        acknowledgement; those about to be read again must be acknowledged first. Real gaps
        (a transaction's marker) are marked again as the records are read again."""
        consumer = self._app.consumer
        if not self._seeks or not consumer.flow_active:  # a rebalance seeks on its own
            return
        asked, self._seeks = self._seeks, {}
        assigned = consumer.assignment()
        for tp, least in asked.items():
            if tp not in assigned or tp not in self.handed.rewinding:
                continue  # revoked, or the hole was read meanwhile
            offset = max(self.handed.next[tp], least)
            try:
                await consumer.seek_wait({tp: offset})
            except (IllegalStateError, TimeoutError) as error:  # revoked meanwhile
                log.warning(
                    "input not sought back",
                    topic=tp.topic,
                    partition=tp.partition,
                    error_type=type(error).__name__,
                )
                continue
            gap = consumer._gap.get(tp)
            if gap:
                gap.chop(offset, sys.maxsize)
            self._reading.add(tp)

    def _fetched(self, records: Mapping[Any, Sequence[Any]]) -> None:
        """The consumer fetched ``records``: the first of a partition read again is where its
        log resumes."""
        for tp in [tp for tp in self._reading if records.get(tp)]:
            self.handed.resumed(tp, records[tp][0].offset)
            self._reading.discard(tp)

    def done(self) -> None:
        """The agent finished the record it was handed."""
        self._busy = False

    def forget(self, partitions: Iterable[Any]) -> None:
        """Partitions were revoked: what was handed from them no longer counts."""
        partitions = list(partitions)
        self.handed.forget(partitions)
        for tp in partitions:
            self._positions.pop(tp, None)
            self._seeks.pop(tp, None)
            self._reading.discard(tp)

    def _idle(self) -> bool:
        """Nothing handed over since the previous look, nothing in hand, flow not stopped."""
        received, self._received_at_look = self._received_at_look, self._received
        flowing = self._app.consumer.flow_active  # stopped while a rebalance is under way
        return received == self._received and not self._busy and flowing and self._started()

    async def check(self) -> None:
        """Ask for partitions with a hole to be sought back to it (again, if the last seek was
        not read); then look at every assigned input partition once and ask for those left
        behind to be sought back."""
        if self._app.consumer.flow_active:  # not in a rebalance, which seeks on its own
            rewinding: list[Any] = list(self.handed.rewinding)
            for tp in rewinding:
                log.warning(
                    "reading from the hole again",
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=self.handed.next[tp],
                )
                self._seeks.setdefault(tp, 0)
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
            self.handed.hold(tp)
            self._seeks[tp] = offset
            self._positions.pop(tp, None)
