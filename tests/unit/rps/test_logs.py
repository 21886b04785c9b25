"""Logging keeps personal data out: only allow-listed fields pass, whatever a caller logs."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from rps.logs import MASK, configure, get_logger
from rps.settings import Settings, redact_url

PLANTED = ("1 Dale Street", "L2 2DH", "m.whitfield@example.com", "+447700900123")


def test_a_planted_value_never_reaches_the_log_in_either_format() -> None:
    """Values logged under any non-allow-listed field are masked; ids and reasons pass."""
    for fmt in ("json", "console"):
        out = io.StringIO()
        configure(fmt, "debug", stream=out)
        try:
            log = get_logger("test")
            log.info(
                "decided",
                resident="7d3c6a0e-2f4b-4f0e-9a51-3c1d2e4f5a6b",
                reason="no_consent",
                value=PLANTED[0],
                postcode=PLANTED[1],
                email=PLANTED[2],
                data={"phone": PLANTED[3]},
            )
        finally:
            structlog.reset_defaults()
        text = out.getvalue()
        assert "7d3c6a0e-2f4b-4f0e-9a51-3c1d2e4f5a6b" in text
        assert "no_consent" in text
        assert MASK in text
        for planted in PLANTED:
            assert planted not in text
        if fmt == "json":
            record = json.loads(text.strip())
            assert record["value"] == MASK
            assert record["data"] == MASK


def test_database_urls_are_logged_without_their_password() -> None:
    """The settings' database URL for logs masks the password and keeps the rest."""
    url = "postgresql+asyncpg://rps:s3cret-pw@db.internal:5432/rps"
    assert redact_url(url) == "postgresql+asyncpg://rps:***@db.internal:5432/rps"
    assert "s3cret-pw" not in Settings(database_url=url).database_url_for_logs()


def test_logs_follow_stderr_when_it_is_replaced_after_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Configured while stderr was one file that is later closed, logging writes to the
    stderr of the moment instead of failing on the closed file."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure("json", "info")
    try:
        first.close()
        monkeypatch.setattr("sys.stderr", second)
        get_logger("test").info("subscribing", authority="E06000001")
    finally:
        structlog.reset_defaults()
    assert json.loads(second.getvalue())["authority"] == "E06000001"
