"""The read model forgetting an erased resident.

An ``erased`` audit record, or the erasure record of the facts log, deletes
every claim, retraction, consent and profile row of its resident that dates from
before the erasure (by the fact's own time: ``verified_at`` or ``issued_at``),
and records when the erasure happened; a fact of that resident read later (a
rebuild reads the topics in no fixed order) is kept only if it dates from after.
The audit rows stay: they hold no values, and they are the resident's history,
the erasure included.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.readmodel._facts import (
    AuditSeen,
    ClaimSeen,
    ErasureSeen,
    Fact,
    GrantSeen,
    RetractionSeen,
)
from consumers.readmodel._tables import (
    claims,
    consent_grants,
    consent_withdrawals,
    erasures,
    profile,
    retractions,
)

ERASED = "erased"


def is_erasure(fact: Fact) -> bool:
    return isinstance(fact, ErasureSeen) or (
        isinstance(fact, AuditSeen) and fact.decision == ERASED
    )


def _time_of(fact: Fact) -> datetime | None:
    if isinstance(fact, ClaimSeen):
        return fact.verified_at
    if isinstance(fact, RetractionSeen | GrantSeen):
        return fact.issued_at
    return getattr(fact, "issued_at", None)


async def erasures_of(connection: AsyncConnection, facts: Sequence[Fact]) -> dict[str, datetime]:
    """When each erased resident among those ``facts`` are about was erased (one query)."""
    residents = {r for f in facts if (r := getattr(f, "resident", None)) is not None}
    if not residents:
        return {}
    rows = await connection.execute(
        select(erasures.c.resident, erasures.c.erased_at).where(
            erasures.c.resident.in_(sorted(residents))
        )
    )
    return {row.resident: row.erased_at for row in rows}


def erased_before(erased: dict[str, datetime], fact: Fact) -> bool:
    """Whether ``fact`` is about an erased resident and dates from before the erasure."""
    when = _time_of(fact)
    erased_at = erased.get(getattr(fact, "resident", None) or "")
    return when is not None and erased_at is not None and when <= erased_at


def erased_resident(fact: AuditSeen | ErasureSeen) -> str:
    return fact.subject if isinstance(fact, AuditSeen) else fact.resident


async def forget(connection: AsyncConnection, fact: AuditSeen | ErasureSeen) -> datetime:
    """Record the erasure and delete what the resident's rows held from before it; the time
    the resident's latest erasure happened."""
    if isinstance(fact, AuditSeen):
        resident, at = fact.subject, fact.recorded_at
    else:
        resident, at = fact.resident, fact.erased_at
    current = await connection.scalar(
        select(erasures.c.erased_at).where(erasures.c.resident == resident)
    )
    if current is None:
        await connection.execute(
            insert(erasures).values(resident=resident, event_id=fact.event_id, erased_at=at)
        )
    elif current < at:
        await connection.execute(
            update(erasures)
            .where(erasures.c.resident == resident)
            .values(event_id=fact.event_id, erased_at=at)
        )
    at = max(at, current) if current is not None else at
    await connection.execute(
        delete(claims).where(claims.c.resident == resident, claims.c.verified_at <= at)
    )
    for table in (retractions, consent_grants, consent_withdrawals):
        await connection.execute(
            delete(table).where(table.c.resident == resident, table.c.issued_at <= at)
        )
    await connection.execute(delete(profile).where(profile.c.resident == resident))
    return at
