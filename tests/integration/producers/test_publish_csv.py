"""`rps publish FILE.csv --mapping` and `rps validate --mapping` as real processes against the
real broker: good rows sent, bad rows kept with line, column and rule."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from rps.settings import Settings
from schemas import AttributeVerified, decode
from schemas.topics import Topics
from tests.conftest import ReadTopic

RPS = str(Path(sys.executable).with_name("rps"))
EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
MAPPING = str(EXAMPLES / "council-tax-change-of-address.toml")
PLANTED = "ZZ9 PLURAL"


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
    }
    return subprocess.run(
        [RPS, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _export(tmp_path: Path) -> Path:
    """The documented example with a third row whose postcode breaks the rule."""
    rows = (EXAMPLES / "council-tax-change-of-address.csv").read_text().splitlines()
    bad = rows[1].replace("CT-2026-000101", "CT-2026-000103").replace("L2 2DH", PLANTED)
    path = tmp_path / "export.csv"
    path.write_text("\n".join([*rows, bad]) + "\n")
    return path


async def test_good_rows_are_sent_and_bad_rows_kept_with_line_column_and_rule(
    settings: Settings, read_topic: ReadTopic, tmp_path: Path
) -> None:
    """Two rows reach the attributes topic as address claims; the third is not sent, is named
    by line, column and rule (never its value), and lands in FILE.rejected.csv."""
    export = _export(tmp_path)
    result = run(settings, "publish", str(export), "--mapping", MAPPING)
    assert result.returncode == 1, result.stderr
    assert "sent 2, rejected 1" in result.stdout
    assert "line 4 (id CT-2026-000103): column Postcode: postcode_format" in result.stderr
    assert PLANTED not in result.stdout + result.stderr
    records = await read_topic(Topics(settings.topic_prefix).attributes, at_least=2)
    events = [decode(r.value) for r in records]
    assert sorted(e.id for e in events) == ["CT-2026-000101", "CT-2026-000102"]
    assert all(isinstance(e, AttributeVerified) and e.source == "urn:gss:E08000012" for e in events)
    with (tmp_path / "export.csv.rejected.csv").open(newline="") as kept:
        (row,) = list(csv.DictReader(kept))
    assert row["Change Ref"] == "CT-2026-000103"
    assert row["rps_errors"] == "column Postcode: postcode_format"


async def test_dry_run_and_validate_check_the_same_way_and_send_nothing(
    settings: Settings, read_topic: ReadTopic, tmp_path: Path
) -> None:
    """--dry-run and `rps validate --mapping` report the same row the same way; nothing sent."""
    export = _export(tmp_path)
    dry = run(settings, "publish", str(export), "--mapping", MAPPING, "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "dry run: 2 valid, 1 rejected, nothing sent" in dry.stdout
    assert "line 4 (id CT-2026-000103): column Postcode: postcode_format" in dry.stderr
    checked = run(settings, "validate", "--mapping", MAPPING, str(export))
    assert checked.returncode == 1
    assert f"{export}:4: column Postcode: postcode_format" in checked.stderr
    assert "2 valid, 1 invalid rows" in checked.stdout
    assert PLANTED not in dry.stdout + dry.stderr + checked.stdout + checked.stderr
    assert await read_topic(Topics(settings.topic_prefix).attributes) == []


def test_a_csv_file_without_a_mapping_is_refused(settings: Settings, tmp_path: Path) -> None:
    """`rps publish export.csv` and `rps validate export.csv` say a mapping is needed (exit 2)
    instead of rejecting every line as not JSON."""
    export = str(_export(tmp_path))
    for result in (run(settings, "publish", export), run(settings, "validate", export)):
        assert result.returncode == 2
        assert "--mapping: is required to read a CSV file" in result.stderr
