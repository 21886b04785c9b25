"""Scratch PostgreSQL databases for the benchmarks, on the local server of ``rps infra up``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import infra
from rps.settings import Settings


@contextlib.asynccontextmanager
async def fresh_postgres(base: Settings) -> AsyncIterator[str]:
    """The URL of an empty database made on ``base``'s server, dropped afterwards."""
    server = infra.local_url(base)
    name = f"perf_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f"CREATE DATABASE {name}"))
        yield f"{server.rsplit('/', 1)[0]}/{name}"
        await _drop_database(admin, name)
    finally:
        await admin.dispose()


async def _drop_database(admin: AsyncEngine, name: str) -> None:
    """Drop the scratch database once its last connection has gone (without ``FORCE``, which
    this role may not use on an autovacuum worker: the server stops those itself); a database
    left behind never ends the run."""
    for attempt in range(10):
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            return
        except DBAPIError:
            await asyncio.sleep(0.5 * (attempt + 1))
    print(f"   scratch database {name} left behind (still in use)", flush=True)
