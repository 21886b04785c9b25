"""The authority's repository over SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

Reads and writes are plain selects, inserts, updates and deletes, so the same
code runs on both; ``consumers._apply`` decides, this module only stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consumers._apply import (
    Delivery,
    Ending,
    KeyAction,
    Outcome,
    Update,
    ack_status,
    bound_elsewhere,
    ending_outcome,
    judge_ending,
    judge_update,
)
from consumers._database import migrate
from consumers._repository import AuthorityUnit, Conflict, HistoryEntry, Holding, PendingAck
from consumers._tables import (
    bindings,
    conflicts,
    current_values,
    history,
    positions,
    tombstones,
)


class SqlAuthorityStore:
    """``AuthorityStore`` over SQLAlchemy Core.

    ``retention`` None deletes values as soon as consent ends; a period keeps
    them (out of ``holdings`` current use) until ``purge_expired`` passes it.
    """

    def __init__(self, engine: AsyncEngine, retention: timedelta | None = None) -> None:
        self._engine = engine
        self._retention = retention

    async def prepare(self) -> None:
        await migrate(self._engine, "subscriber")

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AuthorityUnit]:
        async with self._engine.begin() as connection:
            yield _SqlUnit(connection, self._retention)

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
        async with self._engine.begin() as connection:
            await connection.execute(
                update(history)
                .where(history.c.decision_id.in_(decision_ids))
                .values(acknowledged_at=at)
            )

    async def purge_expired(self, now: datetime) -> int:
        """Delete values whose retention deadline has passed, and their values in history."""
        query = select(current_values).where(current_values.c.retain_until <= now)
        async with self._engine.begin() as connection:
            expired = (await connection.execute(query)).all()
            for row in expired:
                await _forget(connection, row.local_reference, row.attribute, row.version + 1)
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


class _SqlUnit:
    """One transaction's writes; every read here sees the transaction's own earlier writes."""

    def __init__(self, connection: AsyncConnection, retention: timedelta | None) -> None:
        self._connection = connection
        self._retention = retention

    async def apply(self, delivery: Delivery, now: datetime) -> Outcome:
        seen = await self._connection.scalar(
            select(history.c.id).where(history.c.decision_id == delivery.decision_id)
        )
        if seen is not None:
            return Outcome.DUPLICATE
        bound_to = await self._connection.scalar(
            select(bindings.c.subject).where(bindings.c.local_reference == delivery.local_reference)
        )
        if bound_elsewhere(bound_to, delivery):
            return await self._set_aside(delivery, str(bound_to), now)
        if bound_to is None and isinstance(delivery, Update):
            await self._connection.execute(
                insert(bindings).values(
                    local_reference=delivery.local_reference,
                    subject=delivery.subject,
                    decision_id=delivery.decision_id,
                    bound_at=now,
                )
            )
        if isinstance(delivery, Update):
            return await self._apply_update(delivery, now)
        return await self._apply_ending(delivery, now)

    async def save_position(self, topic: str, partition: int, next_offset: int) -> None:
        key = (positions.c.topic == topic) & (positions.c.partition == partition)
        result = await self._connection.execute(
            update(positions).where(key).values(next_offset=next_offset)
        )
        if result.rowcount == 0:
            await self._connection.execute(
                insert(positions).values(topic=topic, partition=partition, next_offset=next_offset)
            )

    async def _apply_update(self, delivery: Update, now: datetime) -> Outcome:
        ref, attribute = delivery.local_reference, delivery.attribute
        held = await self._held(ref, attribute)
        removed = await self._connection.scalar(
            select(tombstones.c.version).where(_key(tombstones, ref, attribute))
        )
        outcome = judge_update(held, removed, delivery)
        provenance = _provenance(delivery)
        if outcome is Outcome.APPLIED:
            await self._connection.execute(
                delete(current_values).where(_key(current_values, ref, attribute))
            )
            await self._connection.execute(
                delete(tombstones).where(_key(tombstones, ref, attribute))
            )
            await self._connection.execute(
                insert(current_values).values(
                    local_reference=ref,
                    attribute=attribute,
                    value_json=delivery.value_json,
                    version=delivery.version,
                    decision_id=delivery.decision_id,
                    applied_at=now,
                    retain_until=None,
                    **provenance,
                )
            )
        elif outcome is Outcome.CLEARED:
            await self._connection.execute(
                delete(current_values).where(_key(current_values, ref, attribute))
            )
            await self._tombstone(
                ref, attribute, delivery.version, delivery.decision_id, "no_value", now
            )
        await self._record(delivery, outcome, now, attribute, delivery.value_json, provenance)
        return outcome

    async def _set_aside(self, delivery: Delivery, bound_to: str, now: datetime) -> Outcome:
        """Keep a delivery whose reference belongs to another resident, for the authority."""
        update_ = isinstance(delivery, Update)
        if isinstance(delivery, Update):
            attributes, value_json = delivery.attribute, delivery.value_json
        else:
            attributes, value_json = ",".join(delivery.attributes), None
        await self._connection.execute(
            insert(conflicts).values(
                decision_id=delivery.decision_id,
                event_id=delivery.event_id,
                subject=delivery.subject,
                bound_subject=bound_to,
                kind="updated" if update_ else "consent_ended",
                local_reference=delivery.local_reference,
                attributes=attributes,
                version=delivery.version,
                value_json=value_json,
                recorded_at=now,
            )
        )
        await self._record(delivery, Outcome.CONFLICT, now, attributes, None, {})
        return Outcome.CONFLICT

    async def _apply_ending(self, delivery: Ending, now: datetime) -> Outcome:
        ref = delivery.local_reference
        actions = []
        for attribute in delivery.attributes:
            action = judge_ending(await self._held(ref, attribute), delivery)
            actions.append(action)
            if self._retention is None:
                await _forget(self._connection, ref, attribute, delivery.version)
            elif action is KeyAction.REMOVE:
                await self._connection.execute(
                    update(current_values)
                    .where(_key(current_values, ref, attribute))
                    .where(current_values.c.retain_until.is_(None))
                    .values(retain_until=now + self._retention)
                )
            await self._tombstone(
                ref, attribute, delivery.version, delivery.decision_id, delivery.reason, now
            )
        outcome = ending_outcome(actions, retain=self._retention is not None)
        await self._record(delivery, outcome, now, ",".join(delivery.attributes), None, {})
        return outcome

    async def _held(self, ref: str, attribute: str) -> int | None:
        version: int | None = await self._connection.scalar(
            select(current_values.c.version).where(_key(current_values, ref, attribute))
        )
        return version

    async def _tombstone(
        self, ref: str, attribute: str, version: int, decision_id: str, reason: str, now: datetime
    ) -> None:
        """Remember the removal version, never lowering one already remembered."""
        key = _key(tombstones, ref, attribute)
        existing = await self._connection.scalar(select(tombstones.c.version).where(key))
        values = {
            "version": version,
            "decision_id": decision_id,
            "reason": reason,
            "recorded_at": now,
        }
        if existing is None:
            await self._connection.execute(
                insert(tombstones).values(local_reference=ref, attribute=attribute, **values)
            )
        elif existing < version:
            await self._connection.execute(update(tombstones).where(key).values(**values))

    async def _record(
        self,
        delivery: Delivery,
        outcome: Outcome,
        now: datetime,
        attributes: str,
        value_json: str | None,
        provenance: dict[str, Any],
    ) -> None:
        await self._connection.execute(
            insert(history).values(
                decision_id=delivery.decision_id,
                event_id=delivery.event_id,
                subject=delivery.subject,
                kind="updated" if isinstance(delivery, Update) else "consent_ended",
                outcome=outcome.value,
                local_reference=delivery.local_reference,
                attributes=attributes,
                version=delivery.version,
                value_json=value_json if outcome is not Outcome.STALE else None,
                reason=delivery.reason if isinstance(delivery, Ending) else None,
                applied_at=now,
                **provenance,
            )
        )


async def _forget(connection: AsyncConnection, ref: str, attribute: str, before: int) -> None:
    """Delete the held value and blank the values history kept for versions before ``before``."""
    await connection.execute(
        delete(current_values)
        .where(_key(current_values, ref, attribute))
        .where(current_values.c.version < before)
    )
    await connection.execute(
        update(history)
        .where(history.c.local_reference == ref)
        .where(history.c.attributes == attribute)
        .where(history.c.version < before)
        .values(value_json=None)
    )


def _key(table: Any, ref: str, attribute: str) -> Any:
    return (table.c.local_reference == ref) & (table.c.attribute == attribute)


def _provenance(delivery: Update) -> dict[str, Any]:
    p = delivery.provenance
    if p is None:
        return {}
    return {
        "claim_id": p.claim_id,
        "source": p.source,
        "assurance": p.assurance,
        "method": p.method,
        "verified_at": p.verified_at,
    }
