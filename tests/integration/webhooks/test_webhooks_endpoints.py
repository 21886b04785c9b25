"""Webhook endpoints in the hub database (SQLite and PostgreSQL), and the `rps webhooks`
commands that keep them."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from consumers.webhooks import EndpointExists, EndpointStore, InsecureEndpoint, UnknownEndpoint
from rps.settings import Settings
from tests.integration.operators.conftest import rps

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def hub_url(request: pytest.FixtureRequest) -> str:
    """A fresh hub database of each kind."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_register_rotate_list_and_remove(hub_url: str) -> None:
    """An endpoint is registered once with a secret; rotation keeps the old secret signing for
    its grace period only; removal forgets it."""
    engine = create_async_engine(hub_url)
    try:
        store = EndpointStore(engine)
        await store.create_schema()
        added = await store.add("E08000012", "https://lcc.example.gov.uk/rps", now=NOW)
        assert added.secret.startswith("whsec_")
        with pytest.raises(EndpointExists):
            await store.add("E08000012", "https://lcc.example.gov.uk/other")
        with pytest.raises(InsecureEndpoint):
            await store.add("E08000015", "http://wirral.example.gov.uk/rps")
        rotated = await store.rotate("E08000012", grace=dt.timedelta(hours=2), now=NOW)
        assert rotated.secret != added.secret
        assert rotated.signing_secrets(NOW + dt.timedelta(hours=1)) == (
            rotated.secret,
            added.secret,
        )
        assert rotated.signing_secrets(NOW + dt.timedelta(hours=3)) == (rotated.secret,)
        assert [e.authority for e in await store.list()] == ["E08000012"]
        await store.remove("E08000012")
        with pytest.raises(UnknownEndpoint):
            await store.get("E08000012")
        with pytest.raises(UnknownEndpoint):
            await store.remove("E08000012")
    finally:
        await engine.dispose()


async def test_the_commands_print_the_secret_once_and_refuse_plain_http(
    settings: Settings, sqlite_url: str
) -> None:
    """`add` shows the secret, `list` never does; a plain-http URL off loopback is refused with
    the argument and the rule (exit 2)."""
    hub = settings.model_copy(update={"database_url": SecretStr(sqlite_url)})
    added = await rps(hub, "webhooks", "add", "E08000012", "https://lcc.example.gov.uk/rps")
    assert added.code == 0, added.err
    secret = next(line.split()[-1] for line in added.out.splitlines() if "secret" in line)
    assert secret.startswith("whsec_")
    listed = await rps(hub, "webhooks", "list")
    assert "https://lcc.example.gov.uk/rps" in listed.out
    assert secret not in listed.out + listed.err
    refused = await rps(hub, "webhooks", "add", "E08000015", "http://wirral.example.gov.uk/")
    assert refused.code == 2
    assert "URL: must be https://" in refused.err
    rotated = await rps(hub, "webhooks", "rotate", "E08000012", "--grace-hours", "1")
    assert rotated.code == 0, rotated.err
    assert secret not in rotated.out
    unknown = await rps(hub, "webhooks", "remove", "E08000015")
    assert (unknown.code, unknown.err.strip()) == (
        2,
        "error: AUTHORITY: has no webhook endpoint registered",
    )
