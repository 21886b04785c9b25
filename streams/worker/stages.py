"""The worker's way out: record each decision, then send its outputs, then ack its input.

The stages carry out the rule :mod:`streams.worker.outbox` states. The order
is what makes "nothing accepted is lost" and "no second effect" hold without
Kafka transactions:

1. the decision's outbox entry (the encoded outputs, under a key of its own) is
   written to the table's changelog, then, once the changelog has it, the
   resident's new profile: so a recorded profile always has its entry;
2. once the changelog has both, the outputs (deliveries, endings, audit records)
   are sent;
3. once Kafka has every output, the entry is deleted (a tombstone on the
   changelog, acknowledged before the input is) and the input is acked, so its
   offset may be committed (Faust flushes the producer before it commits).

A crash before (2) sent nothing: the input is decided afresh on restart, as if
for the first time (an entry recorded without its profile is replaced). A crash
after (2) left the decision recorded: the input is seen again as a duplicate and
its entry is sent again (deliveries byte for byte, audit records linked afresh
at the chain's end), which a subscriber applying by decision id and version
ignores. No output ever leaves the worker that its recorded state does not
account for. After (3) the stored state is the profile alone.

Decisions go through the stages in *batches*: each stage takes every decision
waiting for it, up to :data:`BATCH`, and handles them together, in input order.
So under load one changelog write per key stands for all of the batch's
decisions on it, and the awaits, produce requests and acks are shared by the
batch; when the worker is quiet a batch is one decision and nothing waits for
company. The agent goes on deciding while earlier batches are in flight, and
inputs are acked strictly in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping

from rps.logs import get_logger
from rps.settings import Settings
from schemas.binding import structured_headers as structured
from schemas.topics import Topics
from streams.worker import audit_chain, entries
from streams.worker.batches import Batches
from streams.worker.observer import NoObserver, Observer
from streams.worker.outbox import Pending
from streams.worker.ports import Checkpoints, Delivered, NoCheckpoints, Outlet

log = get_logger("worker")

BATCH = 500  # decisions handled together by a stage, at most
_TIP_SECONDS = 15.0  # one read of an audit partition's newest record, at most
_TIP_ATTEMPTS = 4  # then the worker stops, and the group hands the partition on


class Stages:
    """Records, sends and acks decided inputs, batch by batch, in input order."""

    def __init__(
        self,
        settings: Settings,
        outlet: Outlet,
        changelog: str,
        persisted: Callable[[int, int], None],
        crash: Callable[[BaseException], Awaitable[None]],
        last_audit: Callable[[int], Awaitable[bytes | None]],
        checkpoints: Checkpoints | None = None,
        observer: Observer | None = None,
        discard: Callable[[bytes], None] | None = None,
    ) -> None:
        """``persisted`` is told the changelog offset each partition reached, ``discard``
        removes a settled outbox entry from the local store."""
        self._audit = Topics(settings.topic_prefix).audit
        self._outlet = outlet
        self._changelog = changelog
        self._persisted = persisted
        self._crash = crash
        self._last_audit = last_audit
        self._keys = audit_chain.parse_keys(
            settings.audit_key_id,
            settings.audit_key.get_secret_value(),
            settings.audit_keys.get_secret_value(),
        )
        self._tips: dict[int, str] = {}  # audit partition -> hash the next record links to
        self._audit_sent: dict[int, Awaitable[Delivered]] = {}  # partition -> its latest audit send
        self._decided: asyncio.Queue[Pending] = asyncio.Queue(maxsize=4 * BATCH)
        self._sent_queue: asyncio.Queue[tuple[list[Pending], list[Awaitable[Delivered]]]] = (
            asyncio.Queue(maxsize=4)
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._discard = discard or (lambda key: None)
        self._checkpoints = checkpoints or NoCheckpoints()
        self._observer = observer or NoObserver()
        self._settled = self._recorded = 0

    async def put(self, pending: Pending) -> None:
        """Hand a decided input to the stages (waits while they are a few batches behind)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._record_then_send()),
                asyncio.create_task(self._ack_when_sent()),
            ]
        await self._decided.put(pending)

    async def drain(self) -> None:
        """Wait until every input handed over is acked."""
        await self._decided.join()
        await self._sent_queue.join()

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions handed to another worker: their chain continues from the topic."""
        for partition in partitions:
            self._tips.pop(partition, None)

    # -- stage 1: record, then send ------------------------------------------------------

    async def _record_then_send(self) -> None:
        while True:
            batch = [await self._decided.get()]
            while len(batch) < BATCH and not self._decided.empty():
                batch.append(self._decided.get_nowait())
            self._observer.batch(len(batch))
            try:
                await self._record(batch)
                outputs = Batches(self._outlet)
                for pending in batch:
                    partition = pending.decision.partition
                    for topic, key, value, headers in pending.decision.records:
                        if topic == self._audit and value is not None:
                            linked = await self._linked(outputs, partition, value)
                            await outputs.add(topic, key, linked, structured(), partition)
                        else:
                            await outputs.add(topic, key, value, headers or structured())
                acks = []
                for sent in await outputs.submit_all():
                    if sent.topic == self._audit:
                        self._audit_sent[sent.partition] = sent.ack
                    acks.append(sent.ack)
                await self._sent_queue.put((batch, acks))
            except BaseException as error:
                await self._fail(error)
                raise
            finally:
                for _ in batch:
                    self._decided.task_done()

    async def _record(self, batch: list[Pending]) -> None:
        """Write the batch's outbox entries, then its profiles, one changelog record per key
        (its last value), and wait for each."""
        kept: dict[tuple[int, bytes], bytes] = {}
        profiles: dict[tuple[int, bytes], bytes] = {}
        for pending in batch:
            partition = pending.decision.partition
            kept.update(((partition, key), value) for key, value in pending.decision.kept)
            profiles.update(((partition, key), value) for key, value in pending.decision.writes)
        for latest in (kept, profiles):  # entries first: a recorded profile has its entry
            if latest:
                await self._write(latest)
        before = self._recorded
        self._recorded += sum(1 for p in batch if p.decision.writes or p.decision.kept)
        self._checkpoints.recorded(before, self._recorded)

    async def _write(self, latest: Mapping[tuple[int, bytes], bytes | None]) -> None:
        """Changelog records (a value of None deletes), acknowledged; the offsets passed on."""
        writes = Batches(self._outlet)
        for (partition, key), value in latest.items():
            await writes.add(self._changelog, key, value, None, partition)
        offsets: dict[int, int] = {}
        for sent in await writes.submit_all():
            last = (await sent.ack).offset + sent.count - 1
            offsets[sent.partition] = max(last, offsets.get(sent.partition, -1))
        for partition, offset in offsets.items():
            self._persisted(partition, offset)

    async def _settle(self, batch: list[Pending]) -> None:
        """Delete the outbox entries whose outputs Kafka now has, here and on the changelog."""
        done: dict[tuple[int, bytes], bytes | None] = {
            (p.decision.partition, entries.entry_key(p.decision.entry)): None
            for p in batch
            if p.decision.entry
        }
        for _, key in done:
            self._discard(key)
        if done:
            await self._write(done)

    # -- the audit chain -----------------------------------------------------------------

    async def _linked(self, outputs: Batches, partition: int, value: bytes) -> bytes:
        """The audit record linked to the newest record of its partition, as it is sent."""
        tip = self._tips.get(partition)
        if tip is None:  # first record since this worker took the partition over
            await outputs.submit(self._audit, partition)  # what it linked before goes first
            sent = outputs.latest(self._audit, partition)
            if sent is not None:
                self._audit_sent[partition] = sent.ack
            tip = audit_chain.tip_of(await self._newest_audit(partition))
        linked, self._tips[partition] = audit_chain.link_bytes(value, tip, self._keys)
        return linked

    async def _newest_audit(self, partition: int) -> bytes | None:
        """The partition's newest audit record, read again when a read does not finish in time.

        Every output waits behind this read, so it must not hang. It waits only for this
        worker's own latest audit send to that partition (flushing the whole producer, as it
        once did, could hold every output for minutes). A read that does not finish in time
        is abandoned and tried afresh; after the last try the error stops the worker
        (``_fail``) rather than leaving its inputs unsettled for ever.
        """
        for attempt in range(1, _TIP_ATTEMPTS + 1):
            try:
                async with asyncio.timeout(_TIP_SECONDS):
                    sent = self._audit_sent.get(partition)
                    if sent is not None:  # what this worker sent there is in the log first
                        await asyncio.shield(sent)
                    return await self._last_audit(partition)
            except TimeoutError:
                log.warning(
                    "newest audit record not read in time", partition=partition, count=attempt
                )
        raise TimeoutError(f"audit partition {partition}: newest record not read")

    # -- stage 2: ack --------------------------------------------------------------------

    async def _ack_when_sent(self) -> None:
        while True:
            batch, acks = await self._sent_queue.get()
            try:
                for ack in acks:
                    await ack
                await self._settle(batch)
                self._observer.settled(batch)
                for pending in batch:
                    self._settled += 1
                    self._checkpoints.settled(self._settled)
                    pending.event.ack()
            except BaseException as error:
                await self._fail(error)
                raise
            finally:
                self._sent_queue.task_done()

    async def _fail(self, error: BaseException) -> None:
        self._observer.failed(error)
        log.error("output not acknowledged; stopping", error_type=type(error).__name__)
        await self._crash(error)
