"""One transaction of the authority's repository (SQLAlchemy Core, SQLite and PostgreSQL):
a delivery applied (values, tombstones, history), its local reference bound to the
resident, or set aside as a conflict when the reference belongs to someone else.

``consumers._apply`` decides what each delivery does; this module only writes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers._apply import (
    Delivery,
    Ending,
    KeyAction,
    Outcome,
    Update,
    bound_elsewhere,
    ending_outcome,
    judge_ending,
    judge_update,
)
from consumers._tables import (
    bindings,
    conflicts,
    current_values,
    history,
    positions,
    tombstones,
)


class SqlUnit:
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
                await forget(self._connection, ref, attribute, delivery.version)
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


async def forget(connection: AsyncConnection, ref: str, attribute: str, before: int) -> None:
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
