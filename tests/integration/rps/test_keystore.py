"""The key store on the real databases: keys kept wrapped, forgotten for good, rewrapped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from rps.keystore import KeyStoreUnavailable, SqlKeyStore, data_keys
from rps.sealing import KeyForgotten, open_sealed, seal
from rps.settings import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(local_services: Settings, database_url: str) -> AsyncIterator[SqlKeyStore]:
    keys = await SqlKeyStore.open(
        local_services.model_copy(update={"database_url": SecretStr(database_url)})
    )
    yield keys
    await keys.close()


async def test_a_key_is_made_once_and_read_back(store: SqlKeyStore) -> None:
    """get_or_create makes one key per resident and returns the same key after."""
    resident = str(uuid.uuid4())
    assert await store.get(resident) is None
    first = await store.get_or_create(resident)
    assert await store.get_or_create(resident) == first
    assert await store.get(resident) == first
    assert await store.get_or_create(str(uuid.uuid4())) != first


async def test_the_database_holds_the_key_only_wrapped(store: SqlKeyStore) -> None:
    """The stored bytes are the wrapped key, never the data key itself."""
    resident = str(uuid.uuid4())
    key = await store.get_or_create(resident)
    async with store._engine.connect() as connection:
        row = (await connection.execute(select(data_keys))).one()
    assert key.secret not in row.wrapped
    assert row.master_key_id == "local-1"


async def test_a_forgotten_key_is_gone_for_good(store: SqlKeyStore) -> None:
    """After forget, what was sealed does not open; a later key has a new version."""
    resident, other = str(uuid.uuid4()), str(uuid.uuid4())
    key = await store.get_or_create(resident)
    kept = await store.get_or_create(other)
    envelope = seal(key, "canary", resident, "e1")
    assert await store.forget(resident) is True
    assert await store.forget(resident) is False
    assert await store.forgotten(resident) is True
    assert await store.get(resident) is None
    with pytest.raises(KeyForgotten):
        open_sealed(await store.get(resident), envelope, resident, "e1")
    again = await store.get_or_create(resident)
    assert again.version == key.version + 1
    with pytest.raises(KeyForgotten):
        open_sealed(again, envelope, resident, "e1")
    assert await store.get(other) == kept


def held(folder: Path, needle: bytes) -> bool:
    """Whether any file of the test's SQLite database (the file, its log) holds ``needle``."""
    return any(needle in p.read_bytes() for p in folder.iterdir() if p.name.startswith("test.db"))


async def test_a_forgotten_key_leaves_no_copy_in_the_sqlite_file(
    local_services: Settings, sqlite_url: str, tmp_path: Path
) -> None:
    """On SQLite in write-ahead-log mode (as the read model sets the hub's database), the
    wrapped key is readable in the files until forgotten, and in none of them after."""
    keys = await SqlKeyStore.open(
        local_services.model_copy(update={"database_url": SecretStr(sqlite_url)})
    )
    try:
        async with keys._engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        residents = [str(uuid.uuid4()) for _ in range(50)]
        for resident in residents:
            await keys.get_or_create(resident)
        async with keys._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(data_keys.c.wrapped).where(data_keys.c.resident == residents[7])
                )
            ).one()
        assert held(tmp_path, row.wrapped)
        assert await keys.forget(residents[7]) is True
        assert not held(tmp_path, row.wrapped)
        assert await keys.get(residents[8]) is not None
    finally:
        await keys.close()


async def test_rotating_the_master_key_rewraps_every_data_key(
    local_services: Settings, database_url: str
) -> None:
    """Keys wrapped under a retired master key open after rotation under the new one alone."""
    base = local_services.model_copy(update={"database_url": SecretStr(database_url)})
    old = await SqlKeyStore.open(base)
    residents = [str(uuid.uuid4()) for _ in range(3)]
    keys = [await old.get_or_create(r) for r in residents]
    await old.close()
    rotating = base.model_copy(
        update={
            "master_key_id": "local-2",
            "master_key": SecretStr("a-new-master-key"),
            "master_keys": SecretStr("local-1:local-development-master-key"),
        }
    )
    store = await SqlKeyStore.open(rotating)
    assert await store.rotate_master() == 3
    assert await store.rotate_master() == 0
    await store.close()
    new_only = rotating.model_copy(update={"master_keys": SecretStr("")})
    store = await SqlKeyStore.open(new_only)
    assert [await store.get(r) for r in residents] == keys
    await store.close()


async def test_an_unreachable_store_is_reported_after_retries(local_services: Settings) -> None:
    """A database that cannot be reached raises KeyStoreUnavailable, after retrying."""
    down = local_services.model_copy(
        update={
            "database_url": SecretStr("postgresql+asyncpg://rps:x@127.0.0.1:9/none"),
            "keystore_attempts": 2,
            "keystore_timeout_seconds": 5.0,
        }
    )
    with pytest.raises(KeyStoreUnavailable):
        await SqlKeyStore.open(down)


async def test_many_keys_are_read_and_made_at_once(store: SqlKeyStore) -> None:
    """get_many reads the live keys of many residents (across statements), get_or_create_many
    makes the missing ones and keeps the others, and a forgotten resident gets a new version."""
    known = [str(uuid.uuid4()) for _ in range(3)]
    kept = {r: await store.get_or_create(r) for r in known}
    await store.forget(known[0])
    newcomers = [str(uuid.uuid4()) for _ in range(1_200)]  # more than one statement's worth

    assert await store.get_many([*known, *newcomers[:5]]) == {r: kept[r] for r in known[1:]}

    made = await store.get_or_create_many([*known, *newcomers])
    assert set(made) == {*known, *newcomers}
    assert made[known[1]] == kept[known[1]]
    assert made[known[2]] == kept[known[2]]
    assert made[known[0]].version == kept[known[0]].version + 1
    assert len({key.secret for key in made.values()}) == len(made)
    assert await store.get_many([*known, *newcomers]) == made
    assert await store.get(newcomers[-1]) == made[newcomers[-1]]
