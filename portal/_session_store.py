"""Live sign-ins, kept server-side in the hub's database so that sign-out really ends a session.

The cookie (starlette's signed ``SessionMiddleware`` cookie) carries only a
random session token; this table says whether that token is still signed in,
for whom, and until when. Sign-out deletes the row, so a copy of the cookie
taken before it no longer reads or posts anything; a session older than its
maximum age ends whatever the cookie says. Every portal process reads the same
table, so several may serve one site. Only a SHA-256 digest of the token is
stored: reading the table gives nobody a working cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

METADATA = sa.MetaData()

SESSIONS = sa.Table(
    "portal_sessions",
    METADATA,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("resident", sa.String(36), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=False),  # seconds since the epoch, UTC
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a live session belongs to, and how they signed in (``one_login`` or ``development``)."""

    resident: str
    via: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def engine_for(url: str) -> AsyncEngine:
    """An engine on the hub's database (SQLite waits for the read model's writer; PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(url, connect_args={"timeout": 30})


class SessionStore:
    """The ``portal_sessions`` table: start, find and end sign-ins."""

    def __init__(self, engine: AsyncEngine, max_age: dt.timedelta) -> None:
        self._engine = engine
        self._max_age = max_age

    @classmethod
    async def open(cls, url: str, max_age: dt.timedelta) -> SessionStore:
        """The store on ``url``, its table created when missing."""
        store = cls(engine_for(url), max_age)
        try:
            await store._create_table()
        except BaseException:
            await store.close()
            raise
        return store

    async def _create_table(self) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.run_sync(METADATA.create_all)
        except SQLAlchemyError:
            # Another portal may have created it at the same moment: fine when it is there now.
            async with self._engine.connect() as connection:
                exists = await connection.run_sync(
                    lambda sync: sa.inspect(sync).has_table(SESSIONS.name)
                )
            if not exists:
                raise

    async def start(self, resident: str, via: str, now: dt.datetime) -> str:
        """A new session for ``resident``: the token for the cookie. Expired rows are removed."""
        token = secrets.token_urlsafe(32)
        async with self._engine.begin() as connection:
            await connection.execute(
                SESSIONS.delete().where(SESSIONS.c.expires_at <= _seconds(now))
            )
            await connection.execute(
                SESSIONS.insert().values(
                    token_digest=_digest(token),
                    resident=resident,
                    via=via,
                    started_at=_seconds(now),
                    expires_at=_seconds(now + self._max_age),
                )
            )
        return token

    async def find(self, token: str, now: dt.datetime) -> SignedIn | None:
        """The live session ``token`` stands for, or ``None`` (never started, ended or too old)."""
        query = sa.select(SESSIONS.c.resident, SESSIONS.c.via).where(
            SESSIONS.c.token_digest == _digest(token),
            SESSIONS.c.expires_at > _seconds(now),
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else SignedIn(row.resident, row.via)

    async def end(self, token: str) -> None:
        """End the session ``token`` stands for (nothing happens when it has already ended)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                SESSIONS.delete().where(SESSIONS.c.token_digest == _digest(token))
            )

    async def close(self) -> None:
        await self._engine.dispose()
