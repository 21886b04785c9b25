"""The consumers' commands explain themselves and refuse bad input by field and rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The commands configure logging onto the runner's stream; put it back afterwards."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.parametrize("command", ["subscribe", "holdings", "readmodel"])
def test_every_command_has_help(command: str) -> None:
    """``--help`` describes each command and exits 0."""
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_an_unknown_authority_is_refused_by_name_and_rule() -> None:
    """A malformed authority id exits 2 with a message naming AUTHORITY."""
    result = CliRunner().invoke(app, ["subscribe", "Liverpool", "--db", "sqlite:///x.db"])
    assert result.exit_code == 2
    assert "AUTHORITY: must be a 9-character GSS code or urn:org:<name>" in result.stderr


def test_an_unsupported_database_is_refused_without_echoing_the_password() -> None:
    """A MySQL URL exits 2 naming --db; the password never appears."""
    result = CliRunner().invoke(
        app, ["holdings", "E08000012", "--db", "mysql://council:hunter2@db/ctax"]
    )
    assert result.exit_code == 2
    assert "--db: must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL" in result.stderr
    assert "hunter2" not in result.output + result.stderr
