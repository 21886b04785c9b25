"""An instant outside the contracts' bounds is refused by the gateway (422) and ``rps publish``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from tests.unit.producers.support import SOURCE, cloudevent, line
from tests.unit.producers.test_gateway_refusals import auth, client

__all__ = ["client"]

EXTREME = "0001-01-01T00:00:00+23:59"


def extreme() -> dict[str, Any]:
    document = cloudevent()
    document["data"]["verified_at"] = EXTREME
    return document


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


async def test_the_gateway_answers_422_naming_the_offset_rule(client: httpx.AsyncClient) -> None:
    """``verified_at`` of year 1 at +23:59 gets 422 with ``data.verified_at`` ``offset_range``."""
    response = await client.post("/v1/events", content=line(extreme()), headers=auth())
    assert response.status_code == 422
    found = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert found == {("data.verified_at", "offset_range")}


def test_rps_publish_refuses_the_line_before_sending(tmp_path: Path) -> None:
    """``rps publish`` exits 1 and names the field and rule; nothing is sent."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(extreme()) + b"\n")
    result = CliRunner().invoke(
        app,
        ["publish", str(events), "--dry-run", "--source", SOURCE],
        env={"RPS_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
    )
    assert result.exit_code == 1
    assert "data.verified_at: offset_range" in result.stderr
