"""A key store operation that meets a lost or refused connection is retried, then reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import stamina
from sqlalchemy.exc import OperationalError

from rps.keystore import KeyStoreUnavailable, SqlKeyStore, hub_engine, master_keys
from rps.settings import Settings


def store(tmp_path: Path) -> SqlKeyStore:
    settings = Settings()
    return SqlKeyStore(
        hub_engine(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"), master_keys(settings)
    )


def lost() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))


async def test_a_briefly_unreachable_store_is_retried_until_it_answers(tmp_path: Path) -> None:
    """Two refused connections, then an answer: the caller gets the answer, no error."""
    keys = store(tmp_path)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise lost()
        return "answered"

    with stamina.set_testing(True, attempts=5):
        assert await keys._retried(flaky) == "answered"
    assert calls == 3
    await keys.close()


async def test_a_store_that_stays_away_is_reported_unavailable(tmp_path: Path) -> None:
    """After the last attempt the failure is KeyStoreUnavailable, naming no secret."""
    keys = store(tmp_path)

    async def down() -> str:
        raise lost()

    with stamina.set_testing(True, attempts=3), pytest.raises(KeyStoreUnavailable) as raised:
        await keys._retried(down)
    assert "unreachable" in str(raised.value)
    await keys.close()


async def test_a_programming_error_is_not_retried(tmp_path: Path) -> None:
    """Only transient faults are retried: anything else surfaces at once."""
    keys = store(tmp_path)
    calls = 0

    async def broken() -> str:
        nonlocal calls
        calls += 1
        raise ValueError("a bug")

    with stamina.set_testing(True, attempts=5), pytest.raises(ValueError, match="a bug"):
        await keys._retried(broken)
    assert calls == 1
    await keys.close()
