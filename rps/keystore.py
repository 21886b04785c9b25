"""The residents' data keys, kept wrapped by a master key in the hub's SQL database.

Each resident has at most one live data key (``data_keys``: resident, key version,
the key wrapped with AES key wrap under a master key, that master key's id).
Forgetting a resident deletes the wrapped key and leaves a tombstone (the last
version, when it was forgotten), so a key made later for the same resident gets
a new version and never opens what was sealed before.

The master key is named by an id (``RPS_MASTER_KEY_ID``); retired master keys
stay readable (``RPS_MASTER_KEYS``) until ``rotate_master`` has rewrapped every
data key under the current one. A KMS replaces the master key by implementing
:class:`rps.master_keys.Wrapper` (wrap and unwrap a data key under a named key):
the data keys and the tables stay as they are.

Many residents' keys are read in one statement (``get_many``: the worker reads a
fetched batch's keys ahead of deciding it) and made in one transaction
(``get_or_create_many``: loading residents already known elsewhere).

A database briefly unreachable is a transient fault: each operation is retried
with backoff (stamina) before :class:`KeyStoreUnavailable` is raised.

On SQLite a forgotten key is overwritten in the file (``secure_delete``) and the
write-ahead log, which still holds earlier copies of the page, is moved into the
file and emptied at once; PostgreSQL keeps an old row version until vacuum
reclaims its space (docs/data-lifecycle.md).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import stamina
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from rps.master_keys import MasterKeys, UnknownMasterKey, Wrapper, master_keys
from rps.sealing import DataKey, SealingError, new_data_key
from rps.settings import Settings

__all__ = [
    "KeyStore",
    "KeyStoreUnavailable",
    "MasterKeys",
    "SqlKeyStore",
    "UnknownMasterKey",
    "Wrapper",
    "master_keys",
]

_T = TypeVar("_T")
_CHUNK = 500  # residents a statement names at most (well within SQLite's limit of variables)
_TRANSIENT = (OperationalError, InterfaceError, IntegrityError, OSError)
"""Retried: a lost or refused connection, and a concurrent first key for one resident
(the insert that lost the race is retried and reads the winner's key)."""

metadata = MetaData()
data_keys = Table(
    "rps_data_keys",
    metadata,
    Column("resident", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("wrapped", LargeBinary, nullable=True),  # NULL once forgotten
    Column("master_key_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("forgotten_at", DateTime(timezone=True), nullable=True),
)


class KeyStoreUnavailable(SealingError):
    """The key store could not be reached after retrying: a transient fault, try again later."""


class KeyStore(Protocol):
    """Where the residents' data keys live."""

    async def get_or_create(self, resident: str) -> DataKey:
        """The resident's live data key, made now if it has none."""
        ...

    async def get(self, resident: str) -> DataKey | None:
        """The resident's live data key, or None (never made, or forgotten)."""
        ...

    async def get_many(self, residents: Iterable[str]) -> dict[str, DataKey]:
        """The live data keys of those of ``residents`` that have one."""
        ...

    async def forget(self, resident: str) -> bool:
        """Delete the resident's data key for good; True if there was one."""
        ...

    async def rotate_master(self) -> int:
        """Rewrap every data key under the current master key; how many were rewrapped."""
        ...


def hub_engine(url: str) -> AsyncEngine:
    """An engine on the hub's database (SQLite file made if missing, or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _overwrite_deleted)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _overwrite_deleted(dbapi_connection: object, _record: object) -> None:
    """SQLite overwrites deleted content with zeros instead of leaving it in free space."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _now() -> datetime:
    return datetime.now(UTC)


class SqlKeyStore:
    """The key store on the hub's database (SQLite or PostgreSQL), via SQLAlchemy."""

    def __init__(
        self,
        engine: AsyncEngine,
        wrapper: Wrapper,
        *,
        attempts: int = 8,
        timeout: float = 30.0,
    ) -> None:
        self._engine = engine
        self._wrapper = wrapper
        self._attempts = attempts
        self._timeout = timeout

    @classmethod
    async def open(cls, settings: Settings) -> SqlKeyStore:
        """The key store of ``settings.database_url``, its table made if missing."""
        store = cls(
            hub_engine(settings.database_url.get_secret_value()),
            master_keys(settings),
            attempts=settings.keystore_attempts,
            timeout=settings.keystore_timeout_seconds,
        )
        await store._retried(store._create_table)
        return store

    async def close(self) -> None:
        await self._engine.dispose()

    async def _create_table(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def _retried(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``work``, retrying a lost or refused connection with backoff."""
        try:
            async for attempt in stamina.retry_context(
                on=_TRANSIENT,
                attempts=self._attempts,
                timeout=self._timeout,
            ):
                with attempt:
                    return await work()
        except _TRANSIENT as error:
            raise KeyStoreUnavailable("the key store is unreachable") from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, resident: str) -> DataKey | None:
        async def read() -> DataKey | None:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(data_keys).where(data_keys.c.resident == resident)
                    )
                ).first()
            if row is None or row.wrapped is None:
                return None
            return self._opened(row)

        return await self._retried(read)

    async def get_many(self, residents: Iterable[str]) -> dict[str, DataKey]:
        """The live keys of those of ``residents`` that have one: a statement per few hundred."""
        wanted = sorted(set(residents))

        async def read(chunk: list[str]) -> dict[str, DataKey]:
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    select(data_keys).where(
                        data_keys.c.resident.in_(chunk), data_keys.c.wrapped.is_not(None)
                    )
                )
                return {row.resident: self._opened(row) for row in rows}

        found: dict[str, DataKey] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found.update(await self._retried(functools.partial(read, chunk)))
        return found

    async def get_or_create_many(self, residents: Iterable[str]) -> dict[str, DataKey]:
        """Every one of ``residents``' live data key, those with none made now (a transaction
        per few hundred residents); for loading residents known elsewhere, not per event."""
        wanted = sorted(set(residents))

        async def make(chunk: list[str]) -> dict[str, DataKey]:
            async with self._engine.begin() as connection:
                rows = (
                    await connection.execute(
                        select(data_keys).where(data_keys.c.resident.in_(chunk))
                    )
                ).all()
                known = {row.resident: row for row in rows}
                keys = {r: self._opened(row) for r, row in known.items() if row.wrapped}
                made = {
                    r: new_data_key(known[r].version + 1 if r in known else 1)
                    for r in chunk
                    if r not in keys
                }
                fresh = [self._stored(key) | {"resident": r} for r, key in made.items()]
                gone = [r for r in made if r in known]
                if gone:  # forgotten before: a new version replaces the tombstone
                    await connection.execute(
                        data_keys.delete().where(data_keys.c.resident.in_(gone))
                    )
                if fresh:
                    await connection.execute(data_keys.insert(), fresh)
                return keys | made

        found: dict[str, DataKey] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found.update(await self._retried(functools.partial(make, chunk)))
        return found

    def _opened(self, row: Any) -> DataKey:
        return DataKey(row.version, self._wrapper.unwrap(row.master_key_id, row.wrapped))

    def _stored(self, key: DataKey) -> dict[str, Any]:
        """The columns that keep ``key``, wrapped under the current master key."""
        return {
            "version": key.version,
            "wrapped": self._wrapper.wrap(key.secret),
            "master_key_id": self._wrapper.current,
            "created_at": _now(),
            "forgotten_at": None,
        }

    async def get_or_create(self, resident: str) -> DataKey:
        async def make() -> DataKey:
            async with self._engine.begin() as connection:
                row = (
                    await connection.execute(
                        select(data_keys).where(data_keys.c.resident == resident).with_for_update()
                    )
                ).first()
                if row is not None and row.wrapped is not None:
                    return self._opened(row)
                key = new_data_key(row.version + 1 if row is not None else 1)
                values = self._stored(key)
                if row is None:
                    await connection.execute(data_keys.insert().values(resident=resident, **values))
                else:
                    await connection.execute(
                        data_keys.update().where(data_keys.c.resident == resident).values(**values)
                    )
                return key

        return await self._retried(make)

    async def forget(self, resident: str) -> bool:
        async def drop() -> bool:
            async with self._engine.begin() as connection:
                result = await connection.execute(
                    data_keys.update()
                    .where(data_keys.c.resident == resident, data_keys.c.wrapped.is_not(None))
                    .values(wrapped=None, master_key_id=None, forgotten_at=_now())
                )
                return bool(result.rowcount)

        forgotten = await self._retried(drop)
        if forgotten and self._engine.dialect.name == "sqlite":
            await self._retried(self._checkpoint)
        return forgotten

    async def _checkpoint(self) -> None:
        """Move SQLite's write-ahead log into the file and empty it (a no-op without one)."""
        async with self._engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def rotate_master(self) -> int:
        current = self._wrapper.current

        async def rewrap() -> int:
            count = 0
            async with self._engine.begin() as connection:
                rows = (
                    await connection.execute(
                        select(data_keys).where(
                            data_keys.c.wrapped.is_not(None),
                            data_keys.c.master_key_id != current,
                        )
                    )
                ).all()
                for row in rows:
                    secret = self._wrapper.unwrap(row.master_key_id, row.wrapped)
                    await connection.execute(
                        data_keys.update()
                        .where(data_keys.c.resident == row.resident)
                        .values(wrapped=self._wrapper.wrap(secret), master_key_id=current)
                    )
                    count += 1
            return count

        return await self._retried(rewrap)

    async def forgotten(self, resident: str) -> bool:
        """Whether the resident's data key was forgotten (erased)."""

        async def read() -> bool:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(data_keys.c.forgotten_at).where(data_keys.c.resident == resident)
                    )
                ).first()
            return row is not None and row.forgotten_at is not None

        return await self._retried(read)
