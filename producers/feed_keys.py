"""Pull-feed keys: one API key per authority, for ``GET /v1/deliveries`` on the gateway.

They are kept apart from publisher credentials (``producers.credentials``): a
publisher's key cannot read deliveries, and a feed key cannot publish. Like a
publisher key, a feed key is 32 random bytes shown once and stored only as its
SHA-256 digest, in the hub database (``rps feed add|list|revoke``).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from producers.credentials import digest
from producers.errors import UnknownCredential
from rps.settings import Settings
from schemas.topics import authority_slug

KEY_PREFIX = "rpsf_"

metadata = MetaData()

feed_keys = Table(
    "feed_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("authority", String(64), nullable=False, index=True),
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True, slots=True)
class FeedKey:
    """An authority's feed key as stored: never the key itself."""

    id: str
    authority: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedFeedKey:
    """A newly issued feed key; ``key`` is shown once and never stored."""

    record: FeedKey
    key: str


class FeedKeyStore:
    """Issue, list, revoke and check authorities' feed keys in the hub database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_schema(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def add(self, authority: str, *, now: datetime | None = None) -> IssuedFeedKey:
        """Issue a key for ``authority`` (a GSS code or urn:org:<name>; ValueError otherwise)."""
        authority_slug(authority)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = FeedKey("feed_" + secrets.token_hex(6), authority, now or datetime.now(UTC), None)
        async with self._engine.begin() as connection:
            await connection.execute(
                feed_keys.insert().values(
                    id=record.id,
                    authority=record.authority,
                    key_sha256=digest(key),
                    created_at=record.created_at,
                )
            )
        return IssuedFeedKey(record, key)

    async def list(self) -> list[FeedKey]:
        query = select(feed_keys).order_by(feed_keys.c.created_at, feed_keys.c.id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_record(row) for row in rows]

    async def revoke(self, key_id: str, *, now: datetime | None = None) -> FeedKey:
        """Revoke a key by id; revoking again keeps the first revocation time."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(feed_keys)
                .where(feed_keys.c.id == key_id, feed_keys.c.revoked_at.is_(None))
                .values(revoked_at=now or datetime.now(UTC))
            )
            query = select(feed_keys).where(feed_keys.c.id == key_id)
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            raise UnknownCredential()
        return _record(row)

    async def authenticate(self, key: str) -> FeedKey | None:
        """The active feed key ``key`` is, or None."""
        query = select(feed_keys).where(
            feed_keys.c.key_sha256 == digest(key), feed_keys.c.revoked_at.is_(None)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _record(row)


@asynccontextmanager
async def open_feed_keys(settings: Settings) -> AsyncIterator[FeedKeyStore]:
    """The feed-key store on the hub database, its table created, disposed on exit."""
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        store = FeedKeyStore(engine)
        await store.create_schema()
        yield store
    finally:
        await engine.dispose()


def _record(row: RowMapping) -> FeedKey:
    return FeedKey(
        id=row["id"],
        authority=row["authority"],
        created_at=_utc(row["created_at"]),
        revoked_at=_utc(row["revoked_at"]) if row["revoked_at"] else None,
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
