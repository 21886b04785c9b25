"""``rps publish`` and ``rps gateway openapi`` on the command line, where no Kafka is needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from tests.unit.producers.support import PLANTED, SOURCE, cloudevent, line, simple

runner = CliRunner()


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The CLI configures structlog onto the runner's stream; put the previous set-up back."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_a_dry_run_with_a_bad_line_exits_1_and_prints_the_summary(tmp_path: Path) -> None:
    """One bad line makes the exit status 1; stdout has the counts, stderr the field and rule."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(cloudevent()) + b"\n" + line(simple(value=PLANTED)) + b"\n")
    result = runner.invoke(
        app,
        ["publish", str(events), "--dry-run", "--source", SOURCE],
        env={"RPS_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
    )
    assert result.exit_code == 1
    assert "dry run: 1 valid, 1 rejected, nothing sent" in result.stdout
    assert "line 2: value: phone_format" in result.stderr
    assert PLANTED not in result.stdout + result.stderr
    assert (tmp_path / "events.jsonl.rejected.jsonl").is_file()


def test_a_missing_file_and_a_bad_source_are_usage_errors(tmp_path: Path) -> None:
    """Both exit 2 with a message naming the argument and the rule."""
    missing = runner.invoke(app, ["publish", str(tmp_path / "nope.jsonl"), "--dry-run"])
    assert (missing.exit_code, missing.stderr.strip()) == (2, "error: FILE: no such file")
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(simple()) + b"\n")
    bad = runner.invoke(app, ["publish", str(events), "--dry-run", "--source", "liverpool"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --source: source must be urn:gss:")


def test_publish_reads_standard_input(tmp_path: Path) -> None:
    """``rps publish -`` reads lines from stdin and checks each of them."""
    rejected = tmp_path / "rejected.jsonl"
    result = runner.invoke(
        app,
        ["publish", "-", "--dry-run", "--source", SOURCE, "--rejected", str(rejected)],
        input=(line(simple()) + b"\n" + b"{broken\n").decode(),
    )
    assert result.exit_code == 1
    assert "dry run: 1 valid, 1 rejected" in result.stdout
    assert rejected.read_text().count("not_json") == 1


def test_gateway_openapi_check_passes_on_the_checked_in_document() -> None:
    """``rps gateway openapi --check`` exits 0 while the document is current."""
    result = runner.invoke(app, ["gateway", "openapi", "--check"])
    assert result.exit_code == 0, result.stderr
    assert "is current" in result.stdout
