"""The portal waits for its read model with stamina's jittered backoff, and gives up after the
configured attempts."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

import portal._serve as serve
from rps.settings import Settings

SETTINGS = Settings(consumer_db_attempts=3, consumer_db_backoff_seconds=0.01)


async def test_a_read_model_being_migrated_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two failures to open, then the read model: three tries, the read model returned."""
    calls: list[str] = []
    opened = object()

    async def flaky(url: str) -> object:
        calls.append(url)
        if len(calls) < 3:
            raise OperationalError("SELECT 1", {}, Exception())
        return opened

    monkeypatch.setattr(serve, "open_read_model", flaky)
    assert await serve._open(SETTINGS, "sqlite+aiosqlite://") is opened
    assert len(calls) == 3


async def test_a_read_model_that_never_opens_fails_after_the_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never opening: exactly ``consumer_db_attempts`` tries, then the last error."""
    calls: list[str] = []

    async def broken(url: str) -> object:
        calls.append(url)
        raise OperationalError("SELECT 1", {}, Exception())

    monkeypatch.setattr(serve, "open_read_model", broken)
    with pytest.raises(OperationalError):
        await serve._open(SETTINGS, "sqlite+aiosqlite://")
    assert len(calls) == 3
