"""Fixtures of the consumers' integration tests: repository tests run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consumers._sql_store import SqlAuthorityStore
from consumers.subscriber import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind, from the shared ``sqlite_url`` and ``postgres_url``."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def authority_store(backend_url: str) -> AsyncIterator[SqlAuthorityStore]:
    """An authority's store, migrated, deleting values as soon as consent ends."""
    store = open_store(backend_url)
    await store.prepare()
    yield store
    await store.close()
