"""The read model keys claims and retractions per resident, as the worker does (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Connection, text

from consumers._database import alembic_config, create_engine
from consumers.readmodel import ReadModel
from consumers.readmodel._facts import ClaimSeen, RetractionSeen
from consumers.readmodel._store import ReadModelStore

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ALICE = "7d3c6a0e-2f4b-4f0e-9a51-3c1d2e4f5a6b"
BOB = "0b6f3c1e-8a2d-4c5e-9f10-2a3b4c5d6e7f"
T0 = datetime(2025, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _claim(resident: str, value: str, claim_id: str = "wirral-2025-0001") -> ClaimSeen:
    return ClaimSeen(
        claim_id=claim_id,
        resident=resident,
        attribute="email",
        source="urn:gss:E08000015",
        assurance="medium",
        method="council_tax_record",
        verified_at=T0,
        value_json=f'"{value}"',
    )


@pytest.fixture
async def read_store(backend_url: str) -> AsyncIterator[ReadModelStore]:
    store = ReadModelStore(create_engine(backend_url))
    await store.prepare()
    yield store
    await store.close()


async def _emails(store: ReadModelStore, resident: str) -> list[object]:
    return [p.value for p in await ReadModel(store.engine).profile(resident)]


async def test_a_second_residents_claim_reusing_an_id_is_in_the_read_model(
    read_store: ReadModelStore,
) -> None:
    """Wirral's claim id used for two residents gives each resident their own profile value."""
    await read_store.write([_claim(ALICE, "alice@example.com")], {})
    await read_store.write([_claim(BOB, "bob@example.com")], {})
    assert await _emails(read_store, ALICE) == ["alice@example.com"]
    assert await _emails(read_store, BOB) == ["bob@example.com"]


async def test_a_retraction_reusing_an_id_retracts_only_its_own_residents_claim(
    read_store: ReadModelStore,
) -> None:
    """Two residents' retractions sharing an event id each take effect for their own resident."""
    await read_store.write([_claim(ALICE, "a"), _claim(BOB, "b")], {})
    for resident in (ALICE, BOB):
        retraction = RetractionSeen(
            "retract-1", resident, "wirral-2025-0001", "email", "urn:gss:E08000015", "mistyped", T0
        )
        await read_store.write([retraction], {})
        assert await _emails(read_store, resident) == []


async def test_the_migration_keeps_every_claim_already_recorded(backend_url: str) -> None:
    """A read model at the first revision, with claims in it, upgrades with its rows intact."""
    engine = create_engine(backend_url)

    def to_first_revision(connection: Connection) -> None:
        config = alembic_config("readmodel")
        config.attributes["connection"] = connection
        command.upgrade(config, "r0001")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(to_first_revision)
            await connection.execute(
                text(
                    "INSERT INTO claims (claim_id, resident, attribute, source, assurance, "
                    "method, verified_at, value_json) VALUES ('c-1', :resident, 'email', "
                    "'urn:gss:E08000015', 'medium', 'council_tax_record', :at, '\"a@example.com\"')"
                ),
                {"resident": ALICE, "at": T0.replace(tzinfo=None)},
            )
        store = ReadModelStore(engine)
        await store.prepare()
        await store.write([_claim(BOB, "b@example.com", "c-1")], {})
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT resident FROM claims ORDER BY resident"))
            assert sorted(row.resident for row in rows) == sorted([ALICE, BOB])
    finally:
        await engine.dispose()
