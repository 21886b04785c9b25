"""``rps publish`` logic in a dry run: every line checked, bad ones written with their errors."""

from __future__ import annotations

from pathlib import Path

import orjson

from producers.files import default_rejected_path, publish_file
from rps.settings import Settings
from tests.unit.producers.support import OTHER_SOURCE, PLANTED, SOURCE, cloudevent, line, simple


def write_lines(path: Path, documents: list[object]) -> Path:
    path.write_bytes(b"\n".join(line(d) for d in documents) + b"\n\n")
    return path


async def test_a_dry_run_counts_good_lines_and_writes_bad_ones_with_their_errors(
    tmp_path: Path,
) -> None:
    """Two good lines pass; a bad value and a foreign source are rejected with field and rule."""
    source = write_lines(
        tmp_path / "events.jsonl",
        [cloudevent(), simple(value=PLANTED), cloudevent(source=OTHER_SOURCE), simple()],
    )
    settings = Settings(bootstrap_servers="127.0.0.1:9")  # a dry run never connects
    summary = await publish_file(settings, str(source), source=SOURCE, dry_run=True)
    assert (summary.valid, summary.sent, summary.rejected) == (2, 0, 2)
    records = [
        orjson.loads(raw)
        for raw in default_rejected_path(str(source)).read_bytes().split(b"\n")
        if raw
    ]
    assert [record["line"] for record in records] == [2, 3]
    assert records[0]["errors"][0]["field"] == "value"
    assert records[1]["errors"][0]["rule"] == "own_source"
    assert orjson.loads(records[0]["input"])["value"] == PLANTED  # kept so it can be fixed
    assert summary.first_rejections[0].describe() == "line 2: value: phone_format"
    assert PLANTED not in "\n".join(summary.lines())


async def test_a_clean_file_writes_no_rejected_file(tmp_path: Path) -> None:
    """With nothing rejected, no rejected file appears and the summary says so."""
    source = write_lines(tmp_path / "clean.jsonl", [simple(), simple()])
    rejected = tmp_path / "out.jsonl"
    summary = await publish_file(
        Settings(), str(source), source=SOURCE, rejected_path=rejected, dry_run=True
    )
    assert (summary.valid, summary.rejected, rejected.exists()) == (2, 0, False)
    assert summary.lines()[0].startswith("dry run: 2 valid, 0 rejected, nothing sent")
