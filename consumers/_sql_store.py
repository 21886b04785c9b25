"""The authority's repository over SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

Reads and writes are plain selects, inserts, updates and deletes (and the
``INSERT ... ON CONFLICT DO UPDATE`` both databases share), so the same code runs
on both; ``consumers._apply`` decides, this module only stores. It holds the
store's reads and housekeeping; one transaction's writes (a batch of deliveries
applied, references bound, conflicts set aside) are in ``consumers._sql_unit``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers._apply import Outcome, ack_status
from consumers._database import migrate, one_of
from consumers._repository import AuthorityUnit, Conflict, HistoryEntry, Holding, PendingAck
from consumers._sql_unit import SqlUnit, forget
from consumers._tables import conflicts, current_values, history, positions


class SqlAuthorityStore:
    """``AuthorityStore`` over SQLAlchemy Core.

    ``retention`` None deletes values as soon as consent ends; a period keeps
    them (out of ``holdings`` current use) until ``purge_expired`` passes it.
    """

    def __init__(self, engine: AsyncEngine, retention: timedelta | None = None) -> None:
        self._engine = engine
        self._retention = retention
        # One writing transaction at a time: acknowledgements are marked while the next batch
        # is applied, and two transactions updating history rows in turn could deadlock.
        self._writing = asyncio.Lock()

    async def prepare(self) -> None:
        await migrate(self._engine, "subscriber")

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AuthorityUnit]:
        async with self._writing, self._engine.begin() as connection:
            yield SqlUnit(connection, self._retention)

    async def positions(self, topic: str) -> dict[int, int]:
        query = select(positions.c.partition, positions.c.next_offset).where(
            positions.c.topic == topic
        )
        async with self._engine.connect() as connection:
            return {row.partition: row.next_offset for row in await connection.execute(query)}

    async def pending_acks(self, limit: int = 500) -> list[PendingAck]:
        query = (
            select(history.c.decision_id, history.c.subject, history.c.local_reference)
            .add_columns(history.c.applied_at, history.c.outcome)
            .where(history.c.acknowledged_at.is_(None))
            .order_by(history.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [
                PendingAck(
                    row.decision_id,
                    row.subject,
                    row.local_reference,
                    row.applied_at,
                    ack_status(Outcome(row.outcome)),
                )
                for row in await connection.execute(query)
            ]

    async def mark_acked(self, decision_ids: Sequence[str], at: datetime) -> None:
        if not decision_ids:
            return
        async with self._writing, self._engine.begin() as connection:
            acknowledged = one_of(history.c.decision_id, decision_ids, connection.dialect.name)
            await connection.execute(update(history).where(acknowledged).values(acknowledged_at=at))

    async def purge_expired(self, now: datetime) -> int:
        """Delete values whose retention deadline has passed, and their values in history."""
        query = select(current_values).where(current_values.c.retain_until <= now)
        async with self._writing, self._engine.begin() as connection:
            expired = (await connection.execute(query)).all()
            for row in expired:
                await forget(connection, row.local_reference, row.attribute, row.version + 1)
            return len(expired)

    async def holdings(self, *, with_values: bool = False) -> list[Holding]:
        query = select(current_values).order_by(
            current_values.c.local_reference, current_values.c.attribute
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            Holding(
                local_reference=row.local_reference,
                attribute=row.attribute,
                version=row.version,
                decision_id=row.decision_id,
                claim_id=row.claim_id,
                source=row.source,
                assurance=row.assurance,
                method=row.method,
                verified_at=row.verified_at,
                applied_at=row.applied_at,
                retain_until=row.retain_until,
                value=orjson.loads(row.value_json) if with_values else None,
            )
            for row in rows
        ]

    async def history(self, local_reference: str | None = None) -> list[HistoryEntry]:
        query = select(history).order_by(history.c.id)
        if local_reference is not None:
            query = query.where(history.c.local_reference == local_reference)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            HistoryEntry(
                decision_id=row.decision_id,
                kind=row.kind,
                outcome=row.outcome,
                local_reference=row.local_reference,
                attributes=tuple(row.attributes.split(",")),
                version=row.version,
                source=row.source,
                reason=row.reason,
                applied_at=row.applied_at,
                acknowledged_at=row.acknowledged_at,
                has_value=row.value_json is not None,
            )
            for row in rows
        ]

    async def conflicts(self) -> list[Conflict]:
        """The deliveries kept aside because their reference belongs to another resident."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(conflicts).order_by(conflicts.c.id))).all()
        return [
            Conflict(
                decision_id=row.decision_id,
                kind=row.kind,
                local_reference=row.local_reference,
                subject=row.subject,
                bound_subject=row.bound_subject,
                attributes=tuple(row.attributes.split(",")),
                version=row.version,
                recorded_at=row.recorded_at,
            )
            for row in rows
        ]

    async def close(self) -> None:
        await self._engine.dispose()
