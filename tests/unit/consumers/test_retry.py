"""The subscriber's database retries (stamina): transient failures are retried with jittered
exponential backoff up to the configured attempts, anything else is raised at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from consumers._runner import Runner
from consumers.errors import TransientFailure
from rps.logs import configure
from rps.settings import Settings

SETTINGS = Settings(consumer_db_attempts=4, consumer_db_backoff_seconds=0.01)


class Flaky:
    """An action failing ``failures`` times with ``error``, then returning ``"done"``."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def runner() -> Runner[Any]:
    return Runner(SETTINGS, projection=None, group_id="g", client_id="c")  # type: ignore[arg-type]


def database_away() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError())


async def test_a_transient_failure_is_retried_until_the_action_succeeds() -> None:
    """Three connection failures, then success: four calls, the result returned."""
    action = Flaky(3, database_away())
    assert await runner()._retry(action) == "done"
    assert action.calls == 4


async def test_a_failure_lasting_every_attempt_ends_in_transient_failure() -> None:
    """A database away through all attempts gives ``TransientFailure`` after exactly that many."""
    action = Flaky(99, database_away())
    with pytest.raises(TransientFailure, match="after 4 attempts"):
        await runner()._retry(action)
    assert action.calls == 4


@pytest.mark.parametrize("error", [ProgrammingError("SELECT x", {}, Exception()), ValueError()])
async def test_a_failure_that_is_not_the_database_being_away_is_raised_at_once(
    error: Exception,
) -> None:
    """A bad statement or a bug is not retried: one call, the error itself."""
    action = Flaky(1, error)
    with pytest.raises(type(error)):
        await runner()._retry(action)
    assert action.calls == 1


async def test_retries_are_logged_without_values(capsys: pytest.CaptureFixture[str]) -> None:
    """Each retry logs "database unavailable" with its number and wait, never the error text."""
    configure()
    action = Flaky(2, OperationalError("SELECT secret_value", {"x": "secret"}, Exception()))
    assert await runner()._retry(action) == "done"
    err = capsys.readouterr().err
    assert err.count("database unavailable") == 2
    assert "secret" not in err
