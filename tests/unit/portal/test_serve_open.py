"""The portal waits for the hub's database with stamina's jittered backoff, and gives up after
the configured attempts."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from portal._serve import _retried
from rps.settings import Settings

SETTINGS = Settings(consumer_db_attempts=3, consumer_db_backoff_seconds=0.01)


async def test_a_database_being_migrated_is_waited_for() -> None:
    """Two failures to open, then the store: three tries, the store returned."""
    calls: list[int] = []
    opened = object()

    async def flaky() -> object:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("SELECT 1", {}, Exception())
        return opened

    assert await _retried(SETTINGS, "read_model", flaky) is opened
    assert len(calls) == 3


async def test_a_database_that_never_opens_fails_after_the_attempts() -> None:
    """Never opening: exactly ``consumer_db_attempts`` tries, then the last error."""
    calls: list[int] = []

    async def broken() -> object:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception())

    with pytest.raises(OperationalError):
        await _retried(SETTINGS, "read_model", broken)
    assert len(calls) == 3


async def test_another_error_is_not_retried() -> None:
    """A failure that is not the database (a bug) is raised on the first try."""
    calls: list[int] = []

    async def buggy() -> object:
        calls.append(1)
        raise ValueError

    with pytest.raises(ValueError):  # noqa: PT011 - the bare error is the point
        await _retried(SETTINGS, "read_model", buggy)
    assert len(calls) == 1
