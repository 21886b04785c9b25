"""Database URLs are checked before anything connects, and refused without echoing secrets."""

from __future__ import annotations

import pytest

from consumers._database import normalise_url
from consumers.errors import ConfigurationError


def test_short_schemes_get_the_async_drivers() -> None:
    """``sqlite:`` and ``postgresql:`` are taken to mean aiosqlite and asyncpg."""
    assert normalise_url("sqlite:///a.db") == "sqlite+aiosqlite:///a.db"
    assert normalise_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
    assert normalise_url("postgresql+asyncpg://u@h/d") == "postgresql+asyncpg://u@h/d"


def test_another_driver_is_refused_naming_the_field_and_rule_only() -> None:
    """A MySQL URL is refused; the message names --db and the rule, never the password."""
    with pytest.raises(ConfigurationError) as caught:
        normalise_url("mysql://user:hunter2@db/rps")
    assert caught.value.field == "--db"
    assert "hunter2" not in str(caught.value)


def test_text_that_is_not_a_url_is_refused() -> None:
    """A bare word is not a database URL."""
    with pytest.raises(ConfigurationError):
        normalise_url("not a url")
