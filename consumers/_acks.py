"""The subscriber's acknowledgements: ``delivery.applied`` for every decision it recorded.

History is the outbox: a decision's row is written, unacknowledged, in the same
transaction as its effect, and marked acknowledged once the hub's topic has
taken the acknowledgement. At start whatever a crash left unmarked is read
back from the outbox and sent again (same event ids, so the hub counts each
once). After that each committed batch's acknowledgements are handed over in
memory and sent while the next batch is being applied: at most one batch is in
flight, its records are produced together and awaited together, and a failure
surfaces at the next hand-over (or at :meth:`Acknowledger.flush`, which the
subscriber also calls when idle), so the process stops with the
acknowledgements still in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from consumers._metrics import ACKNOWLEDGED
from consumers._repository import AuthorityStore, PendingAck
from consumers._wire import acknowledgements
from rps.logs import get_logger
from schemas.binding import structured_headers

log = get_logger("consumers.acks")

Retry = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class Acknowledger:
    """Sends an authority's acknowledgements to ``topic`` and marks them in its store."""

    def __init__(
        self, authority: str, topic: str, store: AuthorityStore, retry: Retry, limit: int
    ) -> None:
        self._authority = authority
        self._topic = topic
        self._store = store
        self._retry = retry
        self._limit = limit
        self._task: asyncio.Task[None] | None = None

    async def resend(self, producer: AIOKafkaProducer) -> None:
        """Send what the outbox holds unacknowledged (left by a crash), ``limit`` at a time."""
        while True:
            pending: list[PendingAck] = await self._retry(
                lambda: self._store.pending_acks(self._limit)
            )
            if pending:
                await self._send(producer, pending)
            if len(pending) < self._limit:
                return

    async def hand_over(self, producer: AIOKafkaProducer, pending: Sequence[PendingAck]) -> None:
        """Start sending a committed batch's ``pending`` once the previous batch's are done
        (raising the error they ended with, if any)."""
        await self.flush()
        if pending:
            self._task = asyncio.create_task(self._send(producer, pending))

    async def flush(self) -> None:
        """Wait for the batch in flight, if any; its error is raised here."""
        task, self._task = self._task, None
        if task is not None:
            await task

    async def cancel(self) -> None:
        """Stop a batch still in flight (the process is stopping on an error); what it did
        not mark stays in the outbox for the next start."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def _send(self, producer: AIOKafkaProducer, pending: Sequence[PendingAck]) -> None:
        now = datetime.now(UTC)
        sent = [
            await producer.send(self._topic, key=key, value=value, headers=structured_headers())
            for key, value in acknowledgements(self._authority, pending, now)
        ]
        await asyncio.gather(*sent)
        await self._retry(lambda: self._store.mark_acked([a.decision_id for a in pending], now))
        ACKNOWLEDGED.labels(self._authority).inc(len(pending))
        log.info("acknowledged", count=len(pending), authority=self._authority)
