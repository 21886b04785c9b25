"""A batch applied in one transaction, with set-based statements, leaves exactly what its
deliveries leave applied one by one, on SQLite and PostgreSQL; and a batch costs the same
statements whatever its size."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, select

from consumers._apply import Delivery, Outcome
from consumers._database import create_engine, one_of
from consumers._sql_store import SqlAuthorityStore
from consumers._tables import history, metadata
from consumers.subscriber import open_store
from rps.settings import Settings
from tests.unit.consumers.strategies import (
    _ending,
    _update,
    mixed_deliveries,
    shuffled_with_repeats,
)

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
EXAMPLES = settings(
    max_examples=int(os.environ.get("RPS_BATCH_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TABLES = [t for t in metadata.sorted_tables if t.name != "positions"]

Tables = dict[str, list[dict[str, Any]]]


def _cut(items: Sequence[Delivery], sizes: list[int]) -> Iterator[Sequence[Delivery]]:
    """``items`` in consecutive batches of the given sizes (the rest in one last batch)."""
    start = 0
    for size in sizes:
        if start >= len(items):
            return
        yield items[start : start + size]
        start += size
    if start < len(items):
        yield items[start:]


async def _tables(url: str) -> Tables:
    """Every row of the subscriber's tables but the positions, without generated ids."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found: Tables = {}
            for table in TABLES:
                order = [table.c.id] if "id" in table.c else list(table.primary_key)
                rows = await connection.execute(select(table).order_by(*order))
                found[table.name] = [
                    {k: v for k, v in row._mapping.items() if k != "id"} for row in rows
                ]
            return found
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for table in TABLES:
                await connection.execute(delete(table))
    finally:
        await engine.dispose()


async def _one_by_one_and_batched(
    url: str, items: list[Delivery], sizes: list[int], *, retain: bool
) -> tuple[list[Outcome], Tables, list[Outcome], Tables]:
    store = open_store(url, Settings(subscriber_retention_days=1 if retain else 0))
    await store.prepare()
    try:
        await _empty(url)
        alone = []
        for item in items:
            async with store.unit() as unit:
                alone.append(await unit.apply(item, NOW))
        alone_tables = await _tables(url)
        await _empty(url)
        together: list[Outcome] = []
        for batch in _cut(items, sizes):
            async with store.unit() as unit:
                together += await unit.apply_all(batch, NOW)
        return alone, alone_tables, together, await _tables(url)
    finally:
        await _empty(url)
        await store.close()


@EXAMPLES
@given(
    mixed_deliveries().flatmap(shuffled_with_repeats),
    st.lists(st.integers(min_value=1, max_value=12), max_size=4),
    st.booleans(),
)
def test_a_batch_leaves_what_its_deliveries_leave_one_by_one(
    backend_url: str, items: list[Delivery], sizes: list[int], retain: bool
) -> None:
    """Deliveries for two residents under two references, in any order and repeated, cut into
    batches: the same outcomes, values, tombstones, history (in order, values blanked alike),
    bindings and conflicts as each applied in a transaction of its own; with retention too."""
    alone, alone_tables, together, together_tables = asyncio.run(
        _one_by_one_and_batched(backend_url, items, sizes, retain=retain)
    )
    assert together == alone
    assert together_tables == alone_tables


async def _statements(url: str, items: list[Delivery]) -> int:
    """How many statements applying ``items`` as one batch sends to the database."""
    engine = create_engine(url)
    store = SqlAuthorityStore(engine)
    counted: list[str] = []

    def count(*args: Any) -> None:
        counted.append(args[2])  # (connection, cursor, statement, ...)

    await store.prepare()
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with store.unit() as unit:
            await unit.apply_all(items, NOW)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await store.close()
    return len(counted)


def _residents(count: int, offset: int) -> list[Delivery]:
    """For each of ``count`` residents (its own reference): an update, a second attribute, a
    stale repeat, a cleared value and a consent ending."""
    made: list[Delivery] = []
    for n in range(offset, offset + count):
        ref, subject, base = f"REF-{n:05d}", f"subject-{n:05d}", 10 * n
        for item in (
            _update(base + 1, "address", '"a"'),
            _update(base + 2, "email", '"e"'),
            _update(base + 1, "address", '"a"'),
            _update(base + 3, "phone", None),
            _ending(base + 4, ("email",)),
        ):
            made.append(replace(item, local_reference=ref, subject=subject))
    return made


@pytest.mark.asyncio(loop_scope="session")
async def test_a_batch_costs_the_same_statements_whatever_its_size(backend_url: str) -> None:
    """Five residents' deliveries and a hundred and fifty residents' cost the same statements:
    nothing is read or written one delivery at a time."""
    small = await _statements(backend_url, _residents(5, 0))
    large = await _statements(backend_url, _residents(150, 5))
    assert small == large
    recorded = (await _tables(backend_url))["history"]
    assert len(recorded) == 4 * 155  # each resident's repeat is a duplicate, not recorded


@pytest.mark.asyncio(loop_scope="session")
async def test_a_membership_test_takes_more_values_than_a_statement_takes_parameters(
    backend_url: str,
) -> None:
    """``one_of`` binds its values as one parameter: fifty thousand decision ids (PostgreSQL
    takes 32,767 parameters a statement) find the two recorded among them."""
    store = open_store(backend_url)
    await store.prepare()
    try:
        async with store.unit() as unit:
            await unit.apply_all([_update(1, "address", '"a"'), _update(2, "email", '"e"')], NOW)
    finally:
        await store.close()
    wanted = [f"dec-{n}" for n in range(50_000)]
    engine = create_engine(backend_url)
    try:
        async with engine.connect() as connection:
            query = select(history.c.decision_id).where(
                one_of(history.c.decision_id, wanted, connection.dialect.name)
            )
            assert sorted(await connection.scalars(query)) == ["dec-1", "dec-2"]
    finally:
        await engine.dispose()
