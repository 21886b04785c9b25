"""Real PostgreSQL and SQLite through SQLAlchemy's async engine, as the hub and subscribers do."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

_metadata = MetaData()
_probe = Table(
    "probe",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(64), nullable=False, unique=True),
)


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind (async fixtures are resolved outside the test's loop)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_database_round_trip_and_constraint(database_url: str) -> None:
    """A table is created, a committed row reads back, and a unique constraint really holds."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
            await connection.execute(_probe.insert().values(event_id="e-1"))
        async with engine.connect() as connection:
            rows = (await connection.execute(select(_probe.c.event_id))).scalars().all()
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(_probe.insert().values(event_id="e-1"))
    finally:
        await engine.dispose()
    assert rows == ["e-1"]


async def test_postgres_is_a_real_server(postgres_url: str) -> None:
    """The PostgreSQL fixture is a real server over asyncpg, in a database of its own."""
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SHOW server_version_num"))
            database = await connection.scalar(text("SELECT current_database()"))
    finally:
        await engine.dispose()
    assert int(str(version)) >= 130000
    assert postgres_url.endswith(f"/{database}")
    assert str(database).startswith("t_")
