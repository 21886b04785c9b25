"""``rps validate`` and ``rps contracts generate|check`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from schemas.samples import BROKEN_EXAMPLES, EXAMPLES_DIR

runner = CliRunner()


def test_validate_passes_every_shipped_example() -> None:
    """``rps validate schemas/examples/*.jsonl`` exits 0 and reports every event valid."""
    files = sorted(str(path) for path in EXAMPLES_DIR.glob("*.jsonl"))
    result = runner.invoke(app, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("valid, 0 invalid")
    assert result.stderr == ""


def test_validate_gives_one_line_per_broken_event_and_fails() -> None:
    """Each broken event gets one line naming line number, event id, field and rule; exit 1."""
    result = runner.invoke(app, ["validate", str(BROKEN_EXAMPLES)])
    lines = BROKEN_EXAMPLES.read_text().splitlines()
    problems = result.stderr.strip().splitlines()
    assert result.exit_code == 1
    assert len(problems) == len(lines)
    assert problems[0] == (
        f"{BROKEN_EXAMPLES}:1: event broken-01: data.value.postcode postcode_format "
        "(must be a UK postcode such as L1 8JQ)"
    )
    assert f"{len(lines)} events in 1 file: 0 valid, {len(lines)} invalid" in result.stdout
    assert "LX1 1ZZZ" not in result.output  # the submitted postcode is never echoed


def test_validate_reads_standard_input() -> None:
    """``rps validate -`` reads JSON lines from standard input, skipping blank lines."""
    line = (EXAMPLES_DIR / "consent.granted.v1.jsonl").read_text().splitlines()[0]
    result = runner.invoke(app, ["validate", "-"], input=f"{line}\n\n{{}}\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "<stdin>:3: event -: type required (is required)"
    assert "2 events in 1 file: 1 valid, 1 invalid" in result.stdout


def test_validate_names_a_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is named on stderr with exit status 2."""
    result = runner.invoke(app, ["validate", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_contracts_check_fails_on_drift_and_generate_repairs_it(tmp_path: Path) -> None:
    """``contracts check`` exits 1 naming drifted files; ``contracts generate`` makes it pass."""
    drifted = runner.invoke(app, ["contracts", "check", "--root", str(tmp_path)])
    assert drifted.exit_code == 1
    assert f"drifted: {tmp_path / 'asyncapi.json'}" in drifted.stderr
    generated = runner.invoke(app, ["contracts", "generate", "--root", str(tmp_path)])
    assert generated.exit_code == 0
    assert "10 contract file(s) changed" in generated.stdout
    current = runner.invoke(app, ["contracts", "check", "--root", str(tmp_path)])
    assert current.exit_code == 0
    assert "contracts are current" in current.stdout


def test_every_command_has_help() -> None:
    """``--help`` works for validate and both contracts commands."""
    for command in (["validate"], ["contracts", "generate"], ["contracts", "check"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
