"""`rps portal`: bad input is refused with the field and rule before anything starts."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app


def test_a_database_url_of_another_kind_is_refused_with_exit_2() -> None:
    """`rps portal --db mysql://…` exits 2 naming the option and the rule, not the URL."""
    result = CliRunner().invoke(app, ["portal", "--db", "mysql://user:pw@host/db"])
    assert result.exit_code == 2
    assert "--db: must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL" in result.output
    assert "pw@host" not in result.output
