"""Writing facts into the hub's read model, and reading a resident's view back.

Every fact is kept once (by its event id, or by its key for last-writer-wins
rows), so reading a topic twice, or in another order across topics, leaves the
same tables. The profile row of a (resident, attribute) is recomputed, by the
pure ``standing_claim``, whenever a claim or retraction for it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consumers._database import migrate
from consumers.readmodel._erasure import (
    erased_before,
    erased_resident,
    erasures_of,
    forget,
    is_erasure,
)
from consumers.readmodel._facts import (
    AckSeen,
    AuditSeen,
    ClaimSeen,
    ErasureSeen,
    Fact,
    GrantSeen,
    RetractionSeen,
    WithdrawalSeen,
)
from consumers.readmodel._merge import later, standing_claim
from consumers.readmodel._tables import (
    ALL,
    acknowledgements,
    audit,
    claims,
    consent_grants,
    consent_withdrawals,
    positions,
    profile,
    retractions,
)


class ReadModelStore:
    """The read model's tables behind one small interface, for SQLite and PostgreSQL alike."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def prepare(self) -> None:
        await migrate(self.engine, "readmodel")

    async def empty(self) -> None:
        """Delete every row (positions too), so the next run rebuilds from the topics."""
        async with self.engine.begin() as connection:
            for table in ALL:
                await connection.execute(delete(table))

    async def positions(self) -> dict[tuple[str, int], int]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(positions))
            return {(row.topic, row.partition): row.next_offset for row in rows}

    async def write(self, facts: Sequence[Fact], at: Mapping[tuple[str, int], int]) -> None:
        """Record the facts and the positions they bring us to, in one transaction."""
        async with self.engine.begin() as connection:
            touched: set[tuple[str, str]] = set()
            erased = await erasures_of(connection, facts)
            for fact in facts:
                if is_erasure(fact):
                    assert isinstance(fact, AuditSeen | ErasureSeen)
                    resident = erased_resident(fact)
                    erased[resident] = await forget(connection, fact)
                    touched.update(await _attributes_of(connection, resident))
                elif erased_before(erased, fact):
                    continue  # from before the resident's erasure: not kept
                await _record(connection, fact)
                if isinstance(fact, ClaimSeen | RetractionSeen):
                    touched.add((fact.resident, fact.attribute))
            for resident, attribute in sorted(touched):
                await _refresh_profile(connection, resident, attribute)
            for (topic, partition), offset in at.items():
                key = {"topic": topic, "partition": partition}
                if not await _update(connection, positions, key, {"next_offset": offset}):
                    await connection.execute(insert(positions).values(**key, next_offset=offset))
        if self.engine.dialect.name == "sqlite" and any(is_erasure(f) for f in facts):
            await self._checkpoint()

    async def _checkpoint(self) -> None:
        """After an erasure, SQLite's write-ahead log (which still holds the erased rows as
        they were written) is moved into the file, where they are zeroed, and emptied."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        await self.engine.dispose()


async def _record(connection: AsyncConnection, fact: Fact) -> None:
    match fact:
        case ClaimSeen():  # keyed per resident, as the worker keys them
            key = {"resident": fact.resident, "claim_id": fact.claim_id}
            await _insert_once(connection, claims, key, asdict(fact))
        case RetractionSeen():
            key = {"resident": fact.resident, "event_id": fact.event_id}
            await _insert_once(connection, retractions, key, asdict(fact))
        case AuditSeen():
            await _insert_once(connection, audit, {"event_id": fact.event_id}, asdict(fact))
        case AckSeen():
            key = {"authority": fact.authority, "decision_id": fact.decision_id}
            await _insert_once(connection, acknowledgements, key, asdict(fact))
        case GrantSeen():
            key = {"resident": fact.resident, "authority": fact.authority}
            row = asdict(fact) | {"attributes": ",".join(fact.attributes)}
            await _last_writer_wins(connection, consent_grants, key, row)
        case WithdrawalSeen():
            for attribute in fact.attributes:
                key = {
                    "resident": fact.resident,
                    "authority": fact.authority,
                    "attribute": attribute,
                }
                row = {"event_id": fact.event_id, "issued_at": fact.issued_at}
                await _last_writer_wins(connection, consent_withdrawals, key, row)


async def _attributes_of(connection: AsyncConnection, resident: str) -> set[tuple[str, str]]:
    """The (resident, attribute) pairs the resident still has claims for."""
    rows = await connection.execute(
        select(claims.c.attribute).where(claims.c.resident == resident).distinct()
    )
    return {(resident, row.attribute) for row in rows}


async def _refresh_profile(connection: AsyncConnection, resident: str, attribute: str) -> None:
    where = {"resident": resident, "attribute": attribute}
    claim_rows = (await connection.execute(select(claims).filter_by(**where))).all()
    retraction_rows = (await connection.execute(select(retractions).filter_by(**where))).all()
    best = standing_claim(
        [ClaimSeen(**row._asdict()) for row in claim_rows],
        [RetractionSeen(**row._asdict()) for row in retraction_rows],
    )
    await connection.execute(delete(profile).filter_by(**where))
    if best is not None:
        row = asdict(best)
        await connection.execute(insert(profile).values(**row))


async def _insert_once(
    connection: AsyncConnection, table: Table, key: dict[str, Any], row: dict[str, Any]
) -> None:
    columns = list(key)
    present = await connection.scalar(select(table.c[columns[0]]).filter_by(**key))
    if present is None:
        await connection.execute(insert(table).values(**(row | key)))


async def _last_writer_wins(
    connection: AsyncConnection, table: Table, key: dict[str, Any], row: dict[str, Any]
) -> None:
    current = (
        await connection.execute(select(table.c.issued_at, table.c.event_id).filter_by(**key))
    ).first()
    candidate = (row["issued_at"], row["event_id"])
    if current is None:
        await connection.execute(insert(table).values(**(row | key)))
    elif later((current.issued_at, current.event_id), candidate):
        await _update(connection, table, key, row)


async def _update(
    connection: AsyncConnection, table: Table, key: dict[str, Any], values: dict[str, Any]
) -> bool:
    result = await connection.execute(update(table).filter_by(**key).values(**values))
    return bool(result.rowcount)
