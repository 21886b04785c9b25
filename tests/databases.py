"""Scratch PostgreSQL databases for the tests and the benchmarks: made empty, dropped after."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@contextlib.asynccontextmanager
async def scratch_database(server: str, prefix: str) -> AsyncIterator[str]:
    """The URL of an empty database named ``<prefix>_<random>`` made on the PostgreSQL
    ``server`` (a ``postgresql+asyncpg://`` URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f"CREATE DATABASE {name}"))
        yield f"{server.rsplit('/', 1)[0]}/{name}"
        await _drop_database(admin, name)
    finally:
        await admin.dispose()


async def _drop_database(admin: AsyncEngine, name: str) -> None:
    """Drop the scratch database, ending the connections still open on it (``FORCE``). An
    autovacuum worker the role may not end makes the drop fail until the server stops it
    itself, so the drop is tried again a few times; a database left behind ends nothing."""
    for attempt in range(10):
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            return
        except DBAPIError:
            await asyncio.sleep(0.5 * (attempt + 1))
    print(f"scratch database {name} left behind (still in use)", flush=True)
