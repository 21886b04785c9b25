"""``rps holdings``: the claim id in the table and in ``--json``, never cut short in a pipe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from consumers._wire import to_delivery
from consumers.subscriber import open_store
from tests.unit.consumers.events import AUTHORITY, address, profile_updated, record

pytestmark = pytest.mark.integration

LONG_REFERENCE = "LCC-" + "7" * 60
NOW = datetime(2025, 3, 4, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def held(sqlite_url: str) -> str:
    """An authority database holding one address under a 64-character local reference."""

    async def fill() -> None:
        store = open_store(sqlite_url)
        await store.prepare()
        delivery = to_delivery(
            record(profile_updated(4, address("Flat 4"), reference=LONG_REFERENCE)), AUTHORITY
        )
        async with store.unit() as unit:
            await unit.apply(delivery, NOW)
        await store.close()

    asyncio.run(fill())
    return sqlite_url


def test_the_table_in_a_pipe_is_never_cut_and_shows_the_claim_id(held: str) -> None:
    """Output that is not a terminal keeps whole lines: the long reference and the claim id."""
    result = CliRunner().invoke(app, ["holdings", AUTHORITY, "--db", held])
    assert result.exit_code == 0, result.output
    assert "claim id" in result.output
    (row,) = [line for line in result.output.splitlines() if LONG_REFERENCE in line]
    assert "claim-4" in row
    assert "urn:gss:E08000015" in row
    assert "council_tax_record" in row


def test_json_lists_every_holding_with_its_claim_id_and_no_value(held: str) -> None:
    """``--json`` prints a JSON array, one object per holding, values only with ``--values``."""
    result = CliRunner().invoke(app, ["holdings", AUTHORITY, "--db", held, "--json"])
    assert result.exit_code == 0, result.output
    (holding,) = orjson.loads(result.stdout)
    assert holding["claim_id"] == "claim-4"
    assert holding["local_reference"] == LONG_REFERENCE
    assert holding["version"] == 4
    assert holding["verified_at"] == "2025-03-03T10:14:12Z"
    assert "value" not in holding
    with_values = CliRunner().invoke(
        app, ["holdings", AUTHORITY, "--db", held, "--json", "--values"]
    )
    (holding,) = orjson.loads(with_values.stdout)
    assert holding["value"]["lines"][0] == "Flat 4"
