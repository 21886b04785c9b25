"""Fixtures for the portal's unit tests: the app over a real SQLite read model, events collected.

The read model is seeded through its own store (the rows ``rps readmodel``
writes); what the portal publishes is collected in a list instead of Kafka.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from consumers._database import create_engine
from consumers.readmodel import open_read_model
from consumers.readmodel._facts import AckSeen, AuditSeen, ClaimSeen, Fact, GrantSeen
from consumers.readmodel._store import ReadModelStore
from portal import OneLogin, Portal, SessionStore, create_app
from rps.settings import Settings
from schemas import Event
from streams.core import Directory, SubscriptionChange, apply_all

ALICE = "3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
BOB = "7d1e0b52-1c9a-4f3e-8a6b-5c4d3e2f1a0b"
LIVERPOOL, WIRRAL, DWP = "E08000012", "E08000015", "urn:org:dwp"
NOW = dt.datetime(2026, 6, 4, 15, 5, tzinfo=dt.UTC)
ALICE_EMAIL = "alice.planted@example.org"
BOB_EMAIL = "bob.planted@example.org"


@dataclass
class Collected:
    """Stands in for the publisher: keeps every event the portal publishes."""

    events: list[Event] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        self.events.append(event)


def claim(
    claim_id: str, resident: str, attribute: str, value: str, assurance: str, source: str
) -> ClaimSeen:
    return ClaimSeen(
        claim_id,
        resident,
        attribute,
        source,
        assurance,
        "self_asserted" if assurance == "low" else "council_tax_record",
        NOW - dt.timedelta(days=2),
        f'"{value}"',
    )


def seed_facts() -> list[Fact]:
    """Alice: an email (low) and a phone (medium); Liverpool got the phone and confirmed it."""
    return [
        claim(
            "00000000-0000-4000-8000-000000000001",
            ALICE,
            "email",
            ALICE_EMAIL,
            "low",
            "urn:org:resident-app",
        ),
        claim(
            "00000000-0000-4000-8000-000000000002",
            ALICE,
            "phone",
            "+447700900982",
            "medium",
            "urn:gss:E08000012",
        ),
        claim(
            "00000000-0000-4000-8000-000000000003",
            BOB,
            "email",
            BOB_EMAIL,
            "low",
            "urn:org:resident-app",
        ),
        GrantSeen(
            "00000000-0000-4000-8000-000000000004",
            ALICE,
            WIRRAL,
            ("phone", "email"),
            "council_tax",
            "WIR-CT-1",
            None,
            NOW - dt.timedelta(days=1),
        ),
        AuditSeen(
            "00000000-0000-4000-8000-000000000005",
            ALICE,
            NOW - dt.timedelta(hours=5),
            "delivered",
            None,
            "00000000-0000-4000-8000-000000000004",
            "uk.gov.rps.consent.granted.v1",
            "urn:org:resident-app",
            "phone",
            WIRRAL,
            "00000000-0000-4000-8000-000000000002",
            "medium",
            "00000000-0000-4000-8000-000000000006",
            1,
            "audit",
            0,
            1,
        ),
        AuditSeen(
            "00000000-0000-4000-8000-000000000007",
            ALICE,
            NOW - dt.timedelta(hours=5),
            "withheld",
            "below_minimum_assurance",
            "00000000-0000-4000-8000-000000000004",
            "uk.gov.rps.consent.granted.v1",
            "urn:org:resident-app",
            "email",
            WIRRAL,
            "00000000-0000-4000-8000-000000000001",
            "low",
            None,
            None,
            "audit",
            0,
            2,
        ),
        AckSeen(
            "00000000-0000-4000-8000-000000000008",
            WIRRAL,
            "00000000-0000-4000-8000-000000000006",
            "WIR-CT-1",
            NOW - dt.timedelta(hours=4),
        ),
    ]


def directory() -> Directory:
    """Wirral wants phone (medium) and email (medium); DWP wants email (low)."""
    rules = [
        (WIRRAL, "phone", 1),
        (WIRRAL, "email", 1),
        (DWP, "email", 0),
        (LIVERPOOL, "address", 1),
    ]
    return apply_all(
        SubscriptionChange(f"s{n}", authority, attribute, level, True, NOW - dt.timedelta(days=9))
        for n, (authority, attribute, level) in enumerate(rules)
    )


def portal_settings(tmp_path: Path, **changes: Any) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"),
        state_dir=tmp_path,
        **changes,
    )


@pytest.fixture
async def seeded(tmp_path: Path) -> str:
    """A read model database holding :func:`seed_facts`; its URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    store = ReadModelStore(create_engine(url))
    await store.prepare()
    await store.write(seed_facts(), {})
    await store.close()
    return url


@dataclass
class Site:
    """The portal under test, a client with its own cookie jar, and what it published."""

    client: httpx.AsyncClient
    published: Collected
    settings: Settings

    async def sign_in(self, resident: str = ALICE) -> httpx.Response:
        page = await self.client.get("/sign-in")
        return await self.client.post(
            "/sign-in/development", data={"csrf_token": token(page.text), "resident": resident}
        )


def token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Clock:
    """The portal's clock, moved on by hand."""

    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now


async def site_for(
    settings: Settings, url: str, clock: Clock | None = None, oidc: OneLogin | None = None
) -> AsyncIterator[Site]:
    model = await open_read_model(url)
    max_age = dt.timedelta(seconds=settings.portal_session_max_age_seconds)
    sessions = await SessionStore.open(url, max_age)
    published = Collected()
    app = create_app(
        Portal(
            settings=settings,
            read_model=model,
            sink=published,
            directory=directory,
            sessions=sessions,
            oidc=oidc,
            clock=clock or Clock(),
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://portal.test", headers={"accept": "text/html"}
    ) as client:
        yield Site(client, published, settings)
    await sessions.close()
    await model.close()


@pytest.fixture
async def site(seeded: str, tmp_path: Path) -> AsyncIterator[Site]:
    """The portal over the seeded read model, development sign-in on."""
    async for s in site_for(portal_settings(tmp_path), seeded):
        yield s
