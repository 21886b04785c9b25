"""Default database paths are absolute, under the state directory, whatever the working folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from consumers.subscriber import default_db_url
from rps.settings import Settings


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_the_hub_database_defaults_to_an_absolute_path_in_the_state_directory(
    tmp_path: Path,
) -> None:
    """``RPS_DATABASE_URL`` unset: SQLite at ``<state_dir>/rps-hub.db``, an absolute path."""
    url = Settings(state_dir=tmp_path / "state").database_url.get_secret_value()
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'state' / 'rps-hub.db'}"


def test_a_relative_state_directory_still_gives_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative ``RPS_STATE_DIR`` is resolved against the folder the process started in."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(state_dir=Path("state"))
    hub = settings.database_url.get_secret_value().removeprefix("sqlite+aiosqlite:///")
    authority = default_db_url(settings, "E08000012").removeprefix("sqlite+aiosqlite:///")
    assert Path(hub) == tmp_path / "state" / "rps-hub.db"
    assert Path(authority) == tmp_path / "state" / "authorities" / "E08000012.db"


def test_a_database_url_given_is_kept() -> None:
    """An explicit URL wins over the default."""
    url = "postgresql+asyncpg://rps@db.internal/rps"
    assert Settings(database_url=url).database_url.get_secret_value() == url


def test_publishers_added_in_one_folder_are_listed_from_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rps publishers add`` and ``rps publishers list`` run from two folders share one store."""
    monkeypatch.setenv("RPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RPS_DATABASE_URL", raising=False)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    added = CliRunner().invoke(app, ["publishers", "add", "urn:org:dwp"])
    assert added.exit_code == 0, added.output
    monkeypatch.chdir(tmp_path / "b")
    listed = CliRunner().invoke(app, ["publishers", "list"])
    assert listed.exit_code == 0, listed.output
    assert "urn:org:dwp" in listed.output
