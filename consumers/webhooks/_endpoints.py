"""Webhook endpoints in the hub database: one per authority, with its signing secret.

Operators register, rotate and remove them (``rps webhooks add|rotate|remove``).
A secret is 32 random bytes in the Standard Webhooks form (``whsec_<base64>``),
shown once when it is issued. Unlike a publisher's API key, which the hub only
has to recognise (``producers.credentials`` keeps its digest), a signing secret
must be used to sign, so the hub database holds it: protect that database as
you protect the pseudonym key. On rotation the previous secret keeps signing
beside the new one for a grace period, so the receiver can switch without
refusing a delivery (Standard Webhooks allows several signatures per request).
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from consumers.webhooks.errors import EndpointExists, InsecureEndpoint, UnknownEndpoint
from rps.settings import Settings
from schemas.topics import authority_slug

SECRET_PREFIX = "whsec_"

metadata = MetaData()

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("authority", String(64), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An authority's endpoint; the secrets never appear in its ``repr``."""

    authority: str
    url: str
    created_at: datetime
    rotated_at: datetime | None
    secret: str = field(repr=False)
    previous_secret: str | None = field(default=None, repr=False)
    previous_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets to sign with now: the current one, and the previous during its grace."""
        if self.previous_secret and self.previous_until and now < self.previous_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    """The URL when it is https://, or http:// to a loopback address; else ``InsecureEndpoint``."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        raise InsecureEndpoint()
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and _loopback(parts.hostname):
        return url
    raise InsecureEndpoint()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EndpointStore:
    """Register, rotate, list, remove and look up webhook endpoints in the hub database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_schema(self) -> None:
        """Create the endpoints table if it does not exist yet."""
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def add(self, authority: str, url: str, *, now: datetime | None = None) -> Endpoint:
        """Register ``url`` for ``authority`` with a new secret (shown once by the caller)."""
        authority_slug(authority)  # ValueError for anything but a GSS code or urn:org:<name>
        endpoint = Endpoint(authority, check_url(url), now or datetime.now(UTC), None, new_secret())
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    webhook_endpoints.insert().values(
                        authority=endpoint.authority,
                        url=endpoint.url,
                        secret=endpoint.secret,
                        created_at=endpoint.created_at,
                    )
                )
        except IntegrityError:
            raise EndpointExists() from None
        return endpoint

    async def rotate(
        self, authority: str, *, grace: timedelta, now: datetime | None = None
    ) -> Endpoint:
        """A new secret for ``authority``; the old one still signs for ``grace``."""
        now = now or datetime.now(UTC)
        current = await self.get(authority)
        table = webhook_endpoints
        async with self._engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.authority == authority)
                .values(
                    secret=new_secret(),
                    previous_secret=current.secret if grace > timedelta(0) else None,
                    previous_until=now + grace if grace > timedelta(0) else None,
                    rotated_at=now,
                )
            )
        return await self.get(authority)

    async def remove(self, authority: str) -> None:
        """Forget ``authority``'s endpoint and secrets."""
        table = webhook_endpoints
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(table).where(table.c.authority == authority))
        if not result.rowcount:
            raise UnknownEndpoint()

    async def get(self, authority: str) -> Endpoint:
        """``authority``'s endpoint, or ``UnknownEndpoint``."""
        query = select(webhook_endpoints).where(webhook_endpoints.c.authority == authority)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            raise UnknownEndpoint()
        return _endpoint(row)

    async def list(self) -> list[Endpoint]:
        """Every endpoint, by authority."""
        query = select(webhook_endpoints).order_by(webhook_endpoints.c.authority)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_endpoint(row) for row in rows]


@asynccontextmanager
async def open_endpoints(settings: Settings) -> AsyncIterator[EndpointStore]:
    """The endpoint store on the hub database, its table created, the engine disposed on exit."""
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        store = EndpointStore(engine)
        await store.create_schema()
        yield store
    finally:
        await engine.dispose()


def _endpoint(row: RowMapping) -> Endpoint:
    return Endpoint(
        authority=row["authority"],
        url=row["url"],
        created_at=_utc(row["created_at"]),
        rotated_at=_utc(row["rotated_at"]) if row["rotated_at"] else None,
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_until=_utc(row["previous_until"]) if row["previous_until"] else None,
    )


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
