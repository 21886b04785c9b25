"""One transaction of the authority's repository (SQLAlchemy Core, SQLite and PostgreSQL):
a batch of deliveries applied (values, tombstones, history), their local references
bound to residents, or set aside as conflicts when a reference belongs to someone else.

A batch costs a fixed number of statements, however many deliveries it holds: four
reads of what it touches (one query per table, for all its decision ids or
references), ``consumers._batch`` deciding in memory, then one statement per table
and kind of change (many rows to a statement). ``consumers._apply`` holds the rules;
this module only reads and writes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers._apply import Delivery, Outcome
from consumers._batch import Found, Held, Key, Row, Writes, plan
from consumers._database import one_of
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
        """Apply one delivery (a batch of one)."""
        (outcome,) = await self.apply_all([delivery], now)
        return outcome

    async def apply_all(self, deliveries: Sequence[Delivery], now: datetime) -> list[Outcome]:
        """Apply ``deliveries`` in order, as one after another would: their outcomes."""
        if not deliveries:
            return []
        found = await self._find(deliveries)
        writes = plan(deliveries, found, now, self._retention)
        await self._write(writes, now)
        return writes.outcomes

    async def save_position(self, topic: str, partition: int, next_offset: int) -> None:
        key = (positions.c.topic == topic) & (positions.c.partition == partition)
        result = await self._connection.execute(
            update(positions).where(key).values(next_offset=next_offset)
        )
        if result.rowcount == 0:
            await self._connection.execute(
                insert(positions).values(topic=topic, partition=partition, next_offset=next_offset)
            )

    async def _find(self, deliveries: Sequence[Delivery]) -> Found:
        """What the database holds for the batch's decisions and references."""
        found = Found()
        dialect = self._connection.dialect.name
        ids = list(dict.fromkeys(d.decision_id for d in deliveries))
        refs = list(dict.fromkeys(d.local_reference for d in deliveries))
        query: Any = select(history.c.decision_id).where(
            one_of(history.c.decision_id, ids, dialect)
        )
        found.seen.update(await self._connection.scalars(query))
        query = select(bindings.c.local_reference, bindings.c.subject).where(
            one_of(bindings.c.local_reference, refs, dialect)
        )
        found.bound.update((row.local_reference, row.subject) for row in await self._rows(query))
        values = current_values.c
        query = select(
            values.local_reference, values.attribute, values.version, values.retain_until
        ).where(one_of(values.local_reference, refs, dialect))
        for row in await self._rows(query):
            found.held[(row.local_reference, row.attribute)] = Held(
                row.version, retained=row.retain_until is not None
            )
        query = select(
            tombstones.c.local_reference, tombstones.c.attribute, tombstones.c.version
        ).where(one_of(tombstones.c.local_reference, refs, dialect))
        for row in await self._rows(query):
            found.removed[(row.local_reference, row.attribute)] = row.version
        return found

    async def _write(self, writes: Writes, now: datetime) -> None:
        """Everything the batch changes, a statement or two per table."""
        await self._insert(bindings, writes.bindings)
        await self._insert(conflicts, writes.conflicts)
        await self._replace(current_values, writes.values)
        if writes.retained and self._retention is not None:
            await self._connection.execute(
                update(current_values)
                .where(_is_key(current_values))
                .where(current_values.c.retain_until.is_(None))
                .values(retain_until=now + self._retention),
                _key_params(writes.retained),
            )
        await self._replace(tombstones, writes.tombstones)
        if writes.forgotten:  # before the batch's own history rows go in: they are blanked already
            await _blank_history(
                self._connection,
                [
                    {"ref": ref, "attribute": attribute, "before": before}
                    for (ref, attribute), before in writes.forgotten.items()
                ],
            )
        await self._insert(history, writes.history)

    async def _replace(self, table: Table, rows: dict[Key, Row | None]) -> None:
        """Delete the row of each key mapped to None; insert or overwrite the others."""
        gone = [key for key, row in rows.items() if row is None]
        if gone:
            await self._connection.execute(delete(table).where(_is_key(table)), _key_params(gone))
        kept = [row for row in rows.values() if row is not None]
        if kept:
            await self._connection.execute(_upsert(table, self._connection.dialect.name), kept)

    async def _insert(self, table: Table, rows: list[Row]) -> None:
        if rows:  # many rows to a statement (SQLAlchemy's "insertmanyvalues"), in order
            await self._connection.execute(insert(table), rows)

    async def _rows(self, query: Any) -> Sequence[Any]:
        return (await self._connection.execute(query)).all()


async def forget(connection: AsyncConnection, ref: str, attribute: str, before: int) -> None:
    """Delete the held value and blank the values history kept for versions before ``before``."""
    await connection.execute(
        delete(current_values)
        .where(
            (current_values.c.local_reference == ref) & (current_values.c.attribute == attribute)
        )
        .where(current_values.c.version < before)
    )
    await _blank_history(connection, [{"ref": ref, "attribute": attribute, "before": before}])


async def _blank_history(connection: AsyncConnection, keys: list[dict[str, Any]]) -> None:
    """For each ``ref``, ``attribute`` and ``before``: blank the values history kept for
    versions below ``before`` (one statement, executed for every key)."""
    await connection.execute(
        update(history)
        .where(history.c.local_reference == bindparam("ref"))
        .where(history.c.attributes == bindparam("attribute"))
        .where(history.c.version < bindparam("before"))
        .where(history.c.value_json.is_not(None))
        .values(value_json=None),
        keys,
    )


def _is_key(table: Table) -> Any:
    """The row of one key, as parameters ``key_ref`` and ``key_attribute`` name it (bound
    names other than the columns', which an UPDATE may not reuse), for executemany."""
    return (table.c.local_reference == bindparam("key_ref")) & (
        table.c.attribute == bindparam("key_attribute")
    )


def _key_params(keys: Iterable[Key]) -> list[dict[str, str]]:
    return [{"key_ref": ref, "key_attribute": attribute} for ref, attribute in keys]


@functools.cache
def _upsert(table: Table, dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of every other column, in ``dialect``
    (PostgreSQL and SQLite share the form); many rows go into one statement."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    keys = [column for column in table.c if column.primary_key]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: statement.excluded[c.name] for c in table.c if not c.primary_key},
    )
