"""Publisher credentials for the HTTP gateway: one API key per publisher, bound to one ``source``.

A key is 32 random bytes from :func:`secrets.token_urlsafe`, shown once when it is
issued and stored only as its SHA-256 digest. A slow password hash (scrypt,
argon2) protects low-entropy secrets people choose; a 256-bit random key cannot
be guessed, so a plain digest is enough and lets each request be checked with
one indexed lookup. The table lives in the hub's SQL database
(``Settings.database_url``: SQLite by default, PostgreSQL in production) and is
created idempotently with ``metadata.create_all``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from producers.errors import UnknownCredential
from producers.events import check_source
from rps.private import private_sqlite
from rps.settings import Settings

KEY_PREFIX = "rps_"

metadata = MetaData()

publisher_credentials = Table(
    "publisher_credentials",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(200), nullable=False, index=True),
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True, slots=True)
class PublisherCredential:
    """A publisher's credential as stored: never the key itself."""

    id: str
    source: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A newly issued credential and its key; the key is shown once and never stored."""

    credential: PublisherCredential
    key: str


def digest(key: str) -> str:
    """The stored form of a key: its SHA-256 digest in hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class CredentialStore:
    """Issue, list, revoke and check publisher credentials in the hub database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_schema(self) -> None:
        """Create the credentials table if it does not exist yet."""
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def add(self, source: str, *, now: datetime | None = None) -> IssuedKey:
        """Issue a new key for ``source``; the caller shows it once."""
        check_source(source)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        credential = PublisherCredential(
            id="pub_" + secrets.token_hex(6),
            source=source,
            created_at=now or datetime.now(UTC),
            revoked_at=None,
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                publisher_credentials.insert().values(
                    id=credential.id,
                    source=credential.source,
                    key_sha256=digest(key),
                    created_at=credential.created_at,
                )
            )
        return IssuedKey(credential, key)

    async def list(self) -> list[PublisherCredential]:
        """Every credential, active and revoked, oldest first."""
        query = select(publisher_credentials).order_by(
            publisher_credentials.c.created_at, publisher_credentials.c.id
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_credential(row) for row in rows]

    async def revoke(
        self, credential_id: str, *, now: datetime | None = None
    ) -> PublisherCredential:
        """Revoke a credential by id; revoking it again keeps the first revocation time."""
        table = publisher_credentials
        async with self._engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.id == credential_id, table.c.revoked_at.is_(None))
                .values(revoked_at=now or datetime.now(UTC))
            )
            row = (
                (await connection.execute(select(table).where(table.c.id == credential_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise UnknownCredential()
        return _credential(row)

    async def authenticate(self, key: str) -> PublisherCredential | None:
        """The active credential a key belongs to, or ``None`` for an unknown or revoked key."""
        table = publisher_credentials
        query = select(table).where(table.c.key_sha256 == digest(key), table.c.revoked_at.is_(None))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _credential(row)


class CachedAuthenticator:
    """Remembers recent answers of :meth:`CredentialStore.authenticate` for ``ttl`` seconds.

    Keeps the per-request cost of the gateway off the database; a revocation
    therefore takes effect within ``ttl`` seconds (0 turns the cache off).
    """

    def __init__(
        self,
        store: CredentialStore,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._answers: dict[str, tuple[float, PublisherCredential | None]] = {}

    async def authenticate(self, key: str) -> PublisherCredential | None:
        if self._ttl <= 0:
            return await self._store.authenticate(key)
        hashed = digest(key)
        now = self._clock()
        cached = self._answers.get(hashed)
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await self._store.authenticate(key)
        if len(self._answers) >= self._max_entries:
            self._answers.clear()
        self._answers[hashed] = (now + self._ttl, answer)
        return answer


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[CredentialStore]:
    """A credential store on the hub database, its table created, the engine disposed on exit."""
    url = settings.database_url.get_secret_value()
    private_sqlite(url)  # also creates its folder (the state directory, by default)
    engine = create_async_engine(url)
    try:
        store = CredentialStore(engine)
        await store.create_schema()
        yield store
    finally:
        await engine.dispose()


def _credential(row: RowMapping) -> PublisherCredential:
    return PublisherCredential(
        id=row["id"],
        source=row["source"],
        created_at=_utc(row["created_at"]),
        revoked_at=None if row["revoked_at"] is None else _utc(row["revoked_at"]),
    )


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def add_publisher(settings: Settings, source: str) -> IssuedKey:
    """Issue a key for ``source`` in the hub database (``rps publishers add``)."""
    async with open_store(settings) as store:
        return await store.add(source)


async def list_publishers(settings: Settings) -> list[PublisherCredential]:
    """Every publisher credential in the hub database (``rps publishers list``)."""
    async with open_store(settings) as store:
        return await store.list()


async def revoke_publisher(settings: Settings, credential_id: str) -> PublisherCredential:
    """Revoke a publisher credential by id (``rps publishers revoke``)."""
    async with open_store(settings) as store:
        return await store.revoke(credential_id)
