"""The consume loop both processes share: read a batch, write it and its position in one
database transaction, then (and only then) commit the Kafka offsets.

The database holds the authoritative position (``positions`` table). On every
assignment the consumer seeks to it, or to the beginning when the database has
none, so a crash between the database commit and the offset commit never
re-applies a record, and an emptied database is rebuilt from the topics.
Undecodable records are dead-lettered before the transaction that steps past
them; database failures are retried with backoff (``consumers._retry``) and then
end the process. A batch whose write fails for any other reason is written again one record at a
time: a record that still fails after ``consumer_poison_attempts`` tries, while
the database takes other writes, is poison and is dead-lettered with the error's
type as its reason (``consumers._poison``), so no record stops the consumer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumers import _metrics
from consumers._assignment import Assignment
from consumers._offsets import caught_up, commit
from consumers._poison import apply_failure, dead_letter, decode_failure
from consumers._retry import retry
from consumers.errors import PoisonRecord, TransientFailure
from rps import metrics
from rps.logs import get_logger
from rps.producing import TrackingProducer
from rps.settings import Settings
from schemas.topics import Topics

T = TypeVar("T")
Positions = Mapping[tuple[str, int], int]

CRASH_EXIT_CODE = 70
IDLE_EVERY_SECONDS = 30.0
LAG_EVERY_SECONDS = 5.0

log = get_logger("consumers.runner")


class Projection(Protocol[T]):
    """What a process plugs into the loop: how to decode a record and write a batch."""

    topics: tuple[str, ...]

    async def start(self, producer: AIOKafkaProducer) -> None: ...

    async def positions(self) -> dict[tuple[str, int], int]: ...

    def decode(self, record: Any) -> T | None:
        """The record as the projection's type; None passes it by; PoisonRecord dead-letters it."""
        ...

    async def write(self, items: Sequence[T], positions: Positions, now: datetime) -> None: ...

    async def after_commit(self, producer: AIOKafkaProducer) -> None:
        """After a batch's transaction (and before its offsets are committed); may leave work
        in flight, such as the acknowledgements it sends."""
        ...

    async def drain(self, producer: AIOKafkaProducer) -> None:
        """Finish what ``after_commit`` left in flight, before the loop ends normally."""
        ...

    async def idle(self, now: datetime) -> None:
        """Housekeeping when no record came (at most every ``IDLE_EVERY_SECONDS``)."""
        ...

    async def close(self) -> None: ...


@dataclass
class RunStats:
    """Counts for the closing log line and for callers that run to the end."""

    records: int = 0
    written: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    batches: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    """Dead-lettered records by reason."""
    forgotten: int = 0
    """Sealed records passed by because their resident was erased (counted in ``skipped``)."""


class Runner(Generic[T]):
    """Drive one projection from Kafka until stopped, or until caught up when ``stop_at_end``."""

    def __init__(
        self,
        settings: Settings,
        projection: Projection[T],
        *,
        group_id: str,
        client_id: str,
        batch_size: int | None = None,
    ) -> None:
        self._settings = settings
        self._batch_size = batch_size or settings.consumer_batch_size
        self._projection = projection
        self._group_id = group_id
        self._client_id = client_id
        self._stop = asyncio.Event()
        self._commits = 0
        self._idle_at = time.monotonic()
        self._signals: list[signal.Signals] = []
        self.stats = RunStats()
        self.health = _metrics.consumer_health()
        self._lag = _metrics.Lag(group_id)
        self._lag_at = 0.0

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and return."""
        self._stop.set()

    async def run(self, *, stop_at_end: bool = False) -> RunStats:
        options = self._settings.kafka_client_options()
        consumer = AIOKafkaConsumer(
            group_id=self._group_id,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **options,
        )
        producer = TrackingProducer(
            client_id=self._client_id, acks="all", enable_idempotence=True, **options
        )
        listener = Assignment(
            consumer, lambda: self._retry(self._projection.positions), health=self.health
        )
        self._listener = listener
        server = metrics.serve(self._settings, self.health, self._group_id)
        beating = asyncio.create_task(metrics.heartbeat(self.health))
        try:
            await producer.start()
            self.health.met("producing")
            await self._retry(lambda: self._projection.start(producer))
            self.health.met("restored")
            await consumer.start()
            present = set(await consumer.topics())
            topics = [t for t in self._projection.topics if t in present or not stop_at_end]
            if not topics:
                log.info("nothing to read: no topic exists yet", topics=self._projection.topics)
                return self.stats
            consumer.subscribe(topics, listener=listener)
            self._handle_signals()
            while not self._stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                if listener.unsynced:
                    await self._sync_offsets(consumer, listener)
                if batch:
                    await self._handle(consumer, producer, batch)
                elif (idle_at := time.monotonic()) - self._idle_at >= IDLE_EVERY_SECONDS:
                    self._idle_at = idle_at
                    await self._retry(lambda: self._projection.idle(datetime.now(UTC)))
                if (lag_at := time.monotonic()) - self._lag_at >= LAG_EVERY_SECONDS:
                    self._lag_at = lag_at
                    await self._lag.refresh(consumer, consumer.assignment())
                if stop_at_end and await caught_up(consumer, listener.targets):
                    break
            await self._projection.drain(producer)
        finally:
            beating.cancel()
            if server is not None:
                server.stop()
            self._release_signals()
            await consumer.stop()
            await producer.stop()
            await self._projection.close()
        log.info("stopped", count=self.stats.records, applied=self.stats.written)
        return self.stats

    async def _handle(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batch: Mapping[TopicPartition, list[Any]],
    ) -> None:
        entries: list[tuple[Any, T]] = []
        offsets: dict[TopicPartition, int] = {}
        floor = self._listener.floor
        for tp, records in batch.items():
            for record in records:
                if record.offset < floor.get(tp, 0):
                    continue  # already applied: fetched before the seek took effect
                item = await self._decode(producer, record)
                if item is not None:
                    entries.append((record, item))
                offsets[tp] = record.offset + 1
                self.stats.records += 1
        if not offsets:
            return
        positions = {(tp.topic, tp.partition): offset for tp, offset in offsets.items()}
        written = await self._write(producer, entries, positions)
        self.stats.written += written
        _metrics.RECORDS.labels(self._group_id, "written").inc(written)
        self._commits += 1
        self.stats.batches += 1
        _metrics.BATCHES.labels(self._group_id).inc()
        if self._settings.subscriber_crash_after_commit == self._commits:
            os._exit(CRASH_EXIT_CODE)  # test hook: die between the database and the offset commit
        floor.update(offsets)
        await self._projection.after_commit(producer)
        await commit(consumer, offsets)

    async def _sync_offsets(self, consumer: AIOKafkaConsumer, listener: Assignment) -> None:
        """Bring the group's committed offsets up to the database's (after a crash, say)."""
        ahead = {}
        for tp in listener.unsynced:
            committed = await consumer.committed(tp)
            if listener.floor.get(tp, 0) > (committed or 0):
                ahead[tp] = listener.floor[tp]
        listener.unsynced.clear()
        if ahead:
            await commit(consumer, ahead)

    async def _decode(self, producer: AIOKafkaProducer, record: Any) -> T | None:
        try:
            item = self._projection.decode(record)
        except PoisonRecord as poison:
            await self._dead_letter(producer, record, poison.reason)
            return None
        except Exception as error:  # a decoder bug must not stop the stream either
            await self._dead_letter(producer, record, decode_failure(error))
            return None
        if item is None:
            self.stats.skipped += 1
            _metrics.RECORDS.labels(self._group_id, "skipped").inc()
        return item

    async def _write(
        self, producer: AIOKafkaProducer, entries: Sequence[tuple[Any, T]], positions: Positions
    ) -> int:
        """Write the batch and its positions; on a non-transient failure, record by record."""
        now = datetime.now(UTC)
        items = [item for _, item in entries]
        try:
            await self._retry(lambda: self._projection.write(items, positions, now))
            return len(items)
        except TransientFailure:
            raise
        except Exception as error:
            if not entries:
                raise  # not a record's fault: the database refuses the positions alone
            log.warning(
                "batch not written: writing its records one at a time",
                count=len(entries),
                error_type=type(error).__name__,
            )
        written = 0
        for record, item in entries:
            failure = await self._write_alone(item, record, now)
            if failure is None:
                written += 1
                continue
            # The database still takes a write without the record, so the record is poison.
            await self._write_position(record.topic, record.partition, record.offset, now)
            await self._dead_letter(producer, record, apply_failure(failure))
        await self._retry(lambda: self._projection.write([], positions, now))
        return written

    async def _write_alone(self, item: T, record: Any, now: datetime) -> Exception | None:
        """Write one record up to ``consumer_poison_attempts`` times; the last error if all fail."""
        at = {(record.topic, record.partition): record.offset + 1}
        failure: Exception | None = None
        for _ in range(self._settings.consumer_poison_attempts):
            try:
                await self._retry(lambda: self._projection.write([item], at, now))
                return None
            except TransientFailure:
                raise
            except Exception as error:
                failure = error
        return failure

    async def _write_position(self, topic: str, partition: int, offset: int, now: datetime) -> None:
        await self._retry(lambda: self._projection.write([], {(topic, partition): offset}, now))

    async def _dead_letter(self, producer: AIOKafkaProducer, record: Any, reason: str) -> None:
        await dead_letter(producer, Topics(self._settings.topic_prefix), record, reason)
        self.stats.dead_lettered += 1
        self.stats.reasons[reason] += 1
        _metrics.RECORDS.labels(self._group_id, "dead_lettered").inc()

    async def _retry(self, action: Callable[[], Awaitable[Any]]) -> Any:
        """``action`` with the database retry of ``consumers._retry``, from the settings."""
        return await retry(
            action,
            attempts=self._settings.consumer_db_attempts,
            backoff=self._settings.consumer_db_backoff_seconds,
        )

    def _handle_signals(self) -> None:
        """SIGTERM and SIGINT finish the batch in hand, then stop (handlers removed on return)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self._stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread
                return
            self._signals.append(signum)

    def _release_signals(self) -> None:
        loop = asyncio.get_running_loop()
        while self._signals:
            loop.remove_signal_handler(self._signals.pop())
