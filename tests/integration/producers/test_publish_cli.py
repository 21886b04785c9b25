"""``rps publish`` as a real process against the real broker: what reached the topic, what not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from rps.settings import Settings
from schemas import decode
from schemas.topics import Topics
from tests.conftest import ReadTopic
from tests.unit.producers.support import OTHER_SOURCE, PLANTED, SOURCE, cloudevent, line, simple

RPS = str(Path(sys.executable).with_name("rps"))


def run(
    settings: Settings, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_PUBLISHER_SOURCE": SOURCE,
    }
    return subprocess.run(
        [RPS, "publish", *args],
        input=stdin.decode() if stdin is not None else None,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_file_of_good_and_bad_lines_sends_only_the_good_ones(
    settings: Settings, read_topic: ReadTopic, tmp_path: Path
) -> None:
    """Good lines reach the topic; bad ones go to the rejected file; the exit status is 1."""
    good = [
        cloudevent(event_id="cli-good-1"),
        simple(id="cli-good-2"),
        cloudevent(event_id="cli-good-3"),
    ]
    bad = [
        cloudevent(event_id="cli-bad-1", attribute="email", value=PLANTED, subject="nope"),
        cloudevent(event_id="cli-bad-2", source=OTHER_SOURCE),
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(line(d) for d in [good[0], bad[0], good[1], bad[1], good[2]]))
    result = run(settings, str(events))
    assert result.returncode == 1, result.stderr
    assert "sent 3, rejected 2" in result.stdout
    assert "line 2 (id cli-bad-1): subject: uuid_format" in result.stderr
    assert PLANTED not in result.stdout + result.stderr
    records = await read_topic(Topics(settings.topic_prefix).attributes, at_least=3)
    assert sorted(decode(r.value).id for r in records) == ["cli-good-1", "cli-good-2", "cli-good-3"]
    rejected = [
        orjson.loads(raw)
        for raw in (tmp_path / "events.jsonl.rejected.jsonl").read_bytes().splitlines()
    ]
    assert [(r["line"], r["id"]) for r in rejected] == [(2, "cli-bad-1"), (4, "cli-bad-2")]


async def test_standard_input_in_the_simple_form_is_sent_as_the_configured_source(
    settings: Settings, read_topic: ReadTopic
) -> None:
    """``rps publish -`` with RPS_PUBLISHER_SOURCE: exit 0, every event carries that source."""
    stdin = b"\n".join(line(simple(id=f"stdin-{n}")) for n in range(5)) + b"\n"
    result = run(settings, "-", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "sent 5, rejected 0" in result.stdout
    records = await read_topic(Topics(settings.topic_prefix).attributes, at_least=5)
    events = [decode(r.value) for r in records]
    assert sorted(e.id for e in events) == [f"stdin-{n}" for n in range(5)]
    assert {e.source for e in events} == {SOURCE}


async def test_a_dry_run_sends_nothing(
    settings: Settings, read_topic: ReadTopic, tmp_path: Path
) -> None:
    """--dry-run checks every line and leaves the topic empty."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(cloudevent()) + b"\n" + line(simple()) + b"\n")
    result = run(settings, str(events), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run: 2 valid, 0 rejected, nothing sent" in result.stdout
    assert await read_topic(Topics(settings.topic_prefix).attributes) == []


async def test_kafka_unreachable_exits_3_naming_the_cause(
    settings: Settings, tmp_path: Path
) -> None:
    """When no broker answers the command says so, naming where it looked, and exits 3."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(simple()) + b"\n")
    nowhere = settings.model_copy(update={"bootstrap_servers": "127.0.0.1:9"})
    result = run(nowhere, str(events))
    assert result.returncode == 3
    assert "error: no broker answered at 127.0.0.1:9" in result.stderr
    assert "within" not in result.stderr  # it did not wait: it was refused at once


async def test_the_same_simple_form_file_sent_twice_carries_the_same_event_ids(
    settings: Settings, read_topic: ReadTopic, tmp_path: Path
) -> None:
    """Sending a file again publishes the very same events (ids and bytes), not new claims."""
    events = tmp_path / "events.jsonl"
    lines = [simple(), simple(value="+447700900124"), simple(attribute="email", value=PLANTED)]
    events.write_bytes(b"\n".join(line(document) for document in lines) + b"\n")
    for _ in range(2):
        result = run(settings, str(events))
        assert result.returncode == 0, result.stderr
        assert "sent 3, rejected 0" in result.stdout
    records = await read_topic(Topics(settings.topic_prefix).attributes, at_least=6)
    ids = [decode(record.value).id for record in records]
    assert len(ids) == 6
    assert len(set(ids)) == 3
    by_id: dict[str, set[bytes]] = {}
    for record in records:
        by_id.setdefault(decode(record.value).id, set()).add(record.value)
    assert all(len(versions) == 1 for versions in by_id.values())
