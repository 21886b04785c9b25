"""Sessions end server-side: at sign-out for every copy of the cookie, and at their maximum age."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.portal.conftest import (
    ALICE,
    BOB,
    NOW,
    Clock,
    Site,
    portal_settings,
    site_for,
    token,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def timed_site(seeded: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Site]:
    """The portal over the seeded read model on a clock the test moves."""
    async for s in site_for(portal_settings(tmp_path), seeded, clock):
        yield s


def copy_of(client: httpx.AsyncClient) -> httpx.Cookies:
    """A copy of the client's cookies, as someone who took them would hold them."""
    taken = httpx.Cookies()
    for cookie in client.cookies.jar:
        taken.jar.set_cookie(copy.copy(cookie))
    return taken


async def test_a_cookie_copied_before_sign_out_can_no_longer_read_or_post(site: Site) -> None:
    """Sign-out ends the session server-side: the old cookie is sent to sign in, posts nothing."""
    await site.sign_in(ALICE)
    page = await site.client.get(f"/residents/{ALICE}/update")
    assert page.status_code == 200
    csrf = token(page.text)
    stolen = copy_of(site.client)

    signed_out = await site.client.post("/sign-out", data={"csrf_token": csrf})
    assert signed_out.status_code == 303

    site.client.cookies = stolen  # the copy taken before sign-out
    read = await site.client.get(f"/residents/{ALICE}/your-details")
    assert read.status_code == 303
    assert read.headers["location"] == "/sign-in"
    posted = await site.client.post(
        f"/residents/{ALICE}/update",
        data={"csrf_token": csrf, "attribute": "email", "email": "stolen@example.org"},
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/sign-in"
    assert site.published.events == []


async def test_a_session_older_than_its_maximum_age_ends_whatever_the_cookie_says(
    timed_site: Site, clock: Clock
) -> None:
    """Past the maximum age (1 hour by default) the same, still-signed cookie reads nothing."""
    await timed_site.sign_in(ALICE)
    clock.now = NOW + dt.timedelta(minutes=59)
    assert (await timed_site.client.get(f"/residents/{ALICE}/your-details")).status_code == 200
    clock.now = NOW + dt.timedelta(hours=1)
    after = await timed_site.client.get(f"/residents/{ALICE}/your-details")
    assert after.status_code == 303
    assert after.headers["location"] == "/sign-in"


async def test_signing_in_again_ends_the_previous_session(site: Site) -> None:
    """A new sign-in (here as another resident) ends the session the cookie held before."""
    await site.sign_in(ALICE)
    before = copy_of(site.client)
    await site.sign_in(BOB)
    assert (await site.client.get(f"/residents/{BOB}/your-details")).status_code == 200
    site.client.cookies = before
    again = await site.client.get(f"/residents/{ALICE}/your-details")
    assert again.status_code == 303


async def test_the_cookie_names_a_session_but_holds_no_resident_id(site: Site) -> None:
    """Who is signed in lives server-side: the cookie's payload carries no resident id."""
    await site.sign_in(ALICE)
    cookie = site.client.cookies["rps_portal_session"]
    payload = cookie.split(".")[0]
    decoded = base64.b64decode(payload + "=" * (-len(payload) % 4))
    assert ALICE.encode() not in decoded
    assert b'"session"' in decoded
