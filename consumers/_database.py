"""Engines, the UTC timestamp column type, a set-membership test and programmatic Alembic
migrations.

Two databases use this module: an authority's own (the subscriber's tables) and
the hub's (the read model). Each has its own Alembic script directory and its
own version table, so both may even share one database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    DateTime,
    any_,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from consumers.errors import ConfigurationError
from rps.private import private_sqlite

Schema = Literal["subscriber", "readmodel"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_ALIASES = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SUPPORTED = ("sqlite+aiosqlite", "postgresql+asyncpg")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(column: ColumnElement[Any], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``column`` equal to one of ``values``, with all of them in one bound parameter: an array
    on PostgreSQL (``= ANY``), a JSON array read by ``json_each`` on SQLite. An expanded
    ``IN (...)`` would be rendered again, value by value, at every execution, and hold at
    most 32,767 values on PostgreSQL."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = func.json_each(bindparam(None, orjson.dumps(list(values)).decode()))
    return column.in_(select(listed.table_valued("value").c.value))


def normalise_url(url: str, field: str = "--db") -> str:
    """Accept ``sqlite:``/``postgresql:`` shorthands and refuse drivers we do not ship."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigurationError(field, "must be a database URL") from error
    driver = _ALIASES.get(parsed.drivername, parsed.drivername)
    if driver not in _SUPPORTED:
        raise ConfigurationError(
            field, "must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    """An async engine for SQLite (file created 0600, WAL, busy timeout, deleted content
    overwritten) or PostgreSQL."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    private_sqlite(url)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted values are zeroed, not left in the file
    cursor.close()


def alembic_config(schema: Schema) -> Config:
    """The Alembic configuration of one of our two schemas, built in code (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS / schema))
    config.set_main_option("version_table", f"alembic_version_{schema}")
    return config


async def migrate(engine: AsyncEngine, schema: Schema) -> None:
    """Bring ``schema`` up to the newest revision; safe to run at every start."""

    def upgrade(connection: Connection) -> None:
        config = alembic_config(schema)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
