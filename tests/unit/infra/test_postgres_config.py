"""When `up` manages PostgreSQL, and how the local URL is built."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from infra import postgres
from infra.errors import ServiceError
from rps.settings import Settings


@pytest.mark.parametrize(
    ("url", "manage", "managed"),
    [
        ("sqlite+aiosqlite:///rps-hub.db", True, True),
        ("postgresql+asyncpg://rps:pw@127.0.0.1:55432/rps", True, True),
        ("postgresql+asyncpg://rps:pw@db.council.example:5432/rps", True, False),
        ("sqlite+aiosqlite:///rps-hub.db", False, False),
    ],
)
def test_postgres_is_managed_unless_the_url_points_elsewhere(
    url: str, manage: bool, managed: bool
) -> None:
    """`up` runs PostgreSQL unless RPS_DATABASE_URL names another server or it is switched off."""
    settings = Settings(database_url=SecretStr(url), manage_postgres=manage, postgres_port=55432)
    assert postgres.is_managed(settings) is managed


def test_local_url_before_up_says_to_run_up(tmp_path: Path) -> None:
    """Asking for the local URL before `rps infra up` created the cluster says what to run."""
    with pytest.raises(ServiceError, match="rps infra up"):
        postgres.local_url(Settings(state_dir=tmp_path))


def test_local_url_carries_the_generated_password(tmp_path: Path) -> None:
    """The local URL is asyncpg on loopback with the password kept in the state directory."""
    settings = Settings(state_dir=tmp_path, postgres_port=55999)
    paths = postgres.PostgresPaths.of(settings)
    paths.home.mkdir(parents=True)
    paths.password.write_text("s3cret-token\n")
    assert postgres.local_url(settings) == (
        "postgresql+asyncpg://rps:s3cret-token@127.0.0.1:55999/rps"
    )
