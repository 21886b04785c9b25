"""The portal's server-side sessions on real SQLite and PostgreSQL, shared by several portals."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from portal import SessionStore, SignedIn
from portal._session_store import engine_for

RESIDENT = "3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
NOW = dt.datetime(2026, 6, 4, 15, 5, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh database of each kind."""
    found: str = request.getfixturevalue(f"{request.param}_url")
    return found


@pytest.fixture
async def two_portals(url: str) -> AsyncIterator[tuple[SessionStore, SessionStore]]:
    """Two portal processes' stores on one database, both creating the table at once."""
    first, second = await asyncio.gather(SessionStore.open(url, HOUR), SessionStore.open(url, HOUR))
    yield first, second
    await first.close()
    await second.close()


async def test_a_session_started_by_one_portal_is_found_and_ended_by_another(
    two_portals: tuple[SessionStore, SessionStore],
) -> None:
    """Any portal finds a live session, and sign-out at one portal ends it at every portal."""
    first, second = two_portals
    token = await first.start(RESIDENT, "one_login", NOW)
    assert await second.find(token, NOW + dt.timedelta(minutes=5)) == SignedIn(
        RESIDENT, "one_login"
    )
    await second.end(token)
    assert await first.find(token, NOW + dt.timedelta(minutes=6)) is None
    assert await second.find(token, NOW + dt.timedelta(minutes=6)) is None
    await first.end(token)  # ending twice changes nothing


async def test_a_session_ends_at_its_maximum_age_and_is_then_cleared_away(
    two_portals: tuple[SessionStore, SessionStore], url: str
) -> None:
    """A session older than the maximum age is not found; the next sign-in removes its row."""
    store, _ = two_portals
    old = await store.start(RESIDENT, "development", NOW)
    assert await store.find(old, NOW + HOUR - dt.timedelta(seconds=1)) is not None
    assert await store.find(old, NOW + HOUR) is None
    fresh = await store.start(RESIDENT, "development", NOW + 2 * HOUR)
    engine = engine_for(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT token_digest FROM portal_sessions"))
            digests = [row[0] for row in rows]
    finally:
        await engine.dispose()
    assert len(digests) == 1  # the expired row is gone
    assert fresh not in digests  # only digests are stored, never tokens
    assert old not in digests


async def test_an_unknown_token_finds_no_one(
    two_portals: tuple[SessionStore, SessionStore],
) -> None:
    """A token no portal started is not signed in."""
    store, _ = two_portals
    await store.start(RESIDENT, "one_login", NOW)
    assert await store.find("made-up", NOW) is None
