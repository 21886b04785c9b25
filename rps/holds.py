"""Legal holds: residents whose data must be kept under a legal obligation, so erasure refuses.

An operator places a hold (``rps residents hold RESIDENT --reason CODE``) where
the law requires the hub to keep a resident's data (a court order, an open
fraud investigation, a statutory retention period); ``rps erase`` refuses while
it stands and says why. Releasing it (``rps residents release``) lets erasure
go ahead. Holds live beside the data keys on the hub's database; reasons are
codes, never free text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["LegalHolds"]

metadata = MetaData()
legal_holds = Table(
    "rps_legal_holds",
    metadata,
    Column("resident", String(64), primary_key=True),
    Column("reason", String(64), nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
)


class LegalHolds:
    """The legal holds on the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def prepare(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def hold(self, resident: str, reason: str) -> None:
        """Place (or restate) a hold on the resident's data."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(legal_holds).where(legal_holds.c.resident == resident))
            await connection.execute(
                insert(legal_holds).values(
                    resident=resident, reason=reason, held_at=datetime.now(UTC)
                )
            )

    async def release(self, resident: str) -> bool:
        """Lift the hold; True if there was one."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(legal_holds).where(legal_holds.c.resident == resident)
            )
            return bool(result.rowcount)

    async def reason(self, resident: str) -> str | None:
        """The reason code of the hold on the resident, or None when there is none."""
        async with self._engine.connect() as connection:
            reason: str | None = await connection.scalar(
                select(legal_holds.c.reason).where(legal_holds.c.resident == resident)
            )
            return reason
