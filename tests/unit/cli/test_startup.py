"""`rps` starts without loading the product: each command imports only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from cli.main import app

HEAVY = ("faust", "aiokafka", "sqlalchemy", "fastapi", "uvicorn", "alembic")
"""Libraries that cost seconds to import and that no light command needs."""

EXAMPLE = Path(__file__).parents[3] / "schemas" / "examples" / "attribute.verified.v1.jsonl"
CSV_EXPORT = Path(__file__).parents[3] / "docs" / "examples" / "council-tax-change-of-address.csv"
CSV_MAPPING = CSV_EXPORT.with_suffix(".toml")

_LOADED_AFTER = """
import json, sys
from cli.main import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.__stdout__)
"""


def loaded_after(*args: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running `rps ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_AFTER, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    """`import cli.main` alone (what every `rps` start pays) loads none of the heavy libraries."""
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys, cli.main; print(json.dumps(list(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("audit", "--help"),
        ("validate", str(EXAMPLE)),
        ("publish", "--dry-run", str(EXAMPLE)),
        ("publish", "--dry-run", "--mapping", str(CSV_MAPPING), str(CSV_EXPORT)),
        ("validate", "--mapping", str(CSV_MAPPING), str(CSV_EXPORT)),
        ("webhooks", "--help"),
        ("feed", "--help"),
    ],
    ids=[
        "help",
        "audit-help",
        "validate",
        "publish-dry-run",
        "publish-csv-dry-run",
        "validate-csv",
        "webhooks-help",
        "feed-help",
    ],
)
def test_light_commands_load_no_heavy_library(args: tuple[str, ...]) -> None:
    """`rps --help`, `rps validate` and `rps publish --dry-run` run without Faust, Kafka or SQL."""
    loaded = loaded_after(*args)
    assert "typer" in loaded  # the command really ran
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_lists_every_command_with_its_help_text() -> None:
    """Lazy imports cost `rps --help` nothing: every command is listed with its first line."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    shown = " ".join(result.output.replace("\u2502", " ").split())  # the table's borders out
    names = sorted(group.commands)
    assert {"worker", "publish", "subscribe", "replay", "audit", "portal", "infra"} <= set(names)
    for name in names:
        first_line = (group.commands[name].help or "").split("\n\n")[0]
        assert first_line, name
        assert f"{name} {' '.join(first_line.split())}" in shown, name
