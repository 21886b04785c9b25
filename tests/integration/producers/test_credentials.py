"""Publisher credentials on SQLite and PostgreSQL, and ``rps publishers add|list|revoke``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from producers import InvalidSource, UnknownCredential
from producers.credentials import (
    CachedAuthenticator,
    CredentialStore,
    digest,
    publisher_credentials,
)
from tests.unit.producers.support import SOURCE

RPS = str(Path(sys.executable).with_name("rps"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind, from the shared ``sqlite_url`` and ``postgres_url``."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[CredentialStore]:
    """A credential store on that database, its table created twice (creation is idempotent)."""
    engine = create_async_engine(database_url)
    store = CredentialStore(engine)
    await store.create_schema()
    await store.create_schema()
    yield store
    await engine.dispose()


async def test_a_key_authenticates_as_its_source_until_revoked(store: CredentialStore) -> None:
    """add issues a key bound to one source; revoke makes the same key unknown."""
    issued = await store.add(SOURCE)
    assert issued.key.startswith("rps_")
    found = await store.authenticate(issued.key)
    assert found is not None
    assert (found.id, found.source) == (issued.credential.id, SOURCE)
    revoked = await store.revoke(issued.credential.id)
    assert revoked.revoked_at is not None
    assert await store.authenticate(issued.key) is None
    assert await store.authenticate("rps_never-issued") is None


async def test_only_the_hash_of_a_key_is_stored(store: CredentialStore) -> None:
    """The table holds the SHA-256 digest of the key, never the key itself."""
    issued = await store.add(SOURCE)
    async with store._engine.connect() as connection:
        rows = (await connection.execute(select(publisher_credentials))).mappings().all()
    (row,) = rows
    assert row["key_sha256"] == digest(issued.key)
    assert issued.key not in {str(value) for value in row.values()}


async def test_list_shows_every_credential_and_revoke_refuses_unknown_ids(
    store: CredentialStore,
) -> None:
    """list returns active and revoked credentials oldest first; an unknown id is an error."""
    first = await store.add(SOURCE)
    second = await store.add("urn:org:dwp")
    await store.revoke(first.credential.id)
    listed = await store.list()
    assert [(c.id, c.active) for c in listed] == [
        (first.credential.id, False),
        (second.credential.id, True),
    ]
    with pytest.raises(UnknownCredential):
        await store.revoke("pub_000000000000")
    with pytest.raises(InvalidSource):
        await store.add("Liverpool City Council")


async def test_the_cache_answers_from_memory_until_its_time_is_up(store: CredentialStore) -> None:
    """With a cache, a revocation takes effect when the cached answer expires, not before."""
    now = [0.0]
    cached = CachedAuthenticator(store, ttl=5, clock=lambda: now[0])
    issued = await store.add(SOURCE)
    assert await cached.authenticate(issued.key) is not None
    await store.revoke(issued.credential.id)
    assert await cached.authenticate(issued.key) is not None
    now[0] = 6.0
    assert await cached.authenticate(issued.key) is None


def test_the_publishers_commands_add_list_and_revoke(sqlite_url: str) -> None:
    """add prints the key once; list never shows it; revoke marks it revoked; bad input exits 2."""
    env = {**os.environ, "RPS_DATABASE_URL": sqlite_url}

    def rps(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RPS, "publishers", *args], env=env, capture_output=True, text=True, timeout=60
        )

    added = rps("add", SOURCE)
    assert added.returncode == 0, added.stderr
    fields = dict(line.split(":", 1) for line in added.stdout.splitlines()[:3])
    key, credential_id = fields["key"].strip(), fields["id"].strip()
    listed = rps("list")
    assert credential_id in listed.stdout
    assert "active" in listed.stdout
    assert key not in listed.stdout
    revoked = rps("revoke", credential_id)
    assert revoked.stdout.strip() == f"revoked {credential_id} ({SOURCE})"
    assert "revoked 20" in rps("list").stdout
    bad_source, bad_id = rps("add", "Liverpool"), rps("revoke", "pub_nope")
    assert (bad_source.returncode, bad_id.returncode) == (2, 2)
    assert bad_source.stderr.startswith("error: SOURCE: source must be urn:gss:")
    assert bad_id.stderr.strip() == "error: ID: id must name an existing publisher credential"
