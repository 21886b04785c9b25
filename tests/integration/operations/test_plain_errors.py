"""The common mistakes end a process with one clear sentence on stderr, no traceback, and a
non-zero exit: nothing listening at the Kafka address, a wrong database password, a missing
topic. And the worker's own lines and the libraries' share one format, with no escape codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.spawn import environment, start_worker, stop_worker
from rps.settings import Settings
from tests.integration.operations.probe import free_port, readiness, until

EVENT = Path(__file__).parents[3] / "schemas" / "examples" / "attribute.verified.v1.jsonl"


def run(
    settings: Settings, *args: str, stdin: bytes = b"", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=environment(settings, **env),
        input=stdin.decode(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def assert_short(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Non-zero exit; stderr a few lines, no traceback, its last line the error naming it."""
    assert done.returncode != 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) <= 6, done.stderr
    assert lines[-1].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[-1], done.stderr


@pytest.mark.parametrize(
    "command",
    [("worker",), ("subscribe", "E08000015", "--stop-at-end"), ("publish", "-")],
    ids=["worker", "subscriber", "publish"],
)
def test_nothing_listening_at_the_kafka_address(
    settings: Settings, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Worker, subscriber and publish, pointed at a port where nothing listens, say so in one
    line naming the address and the setting."""
    address = f"127.0.0.1:{free_port()}"
    nowhere = settings.model_copy(
        update={"bootstrap_servers": address, "state_dir": tmp_path / "state"}
    )
    done = run(nowhere, *command, stdin=EVENT.read_bytes().splitlines()[0] + b"\n")
    assert_short(done, "cannot reach Kafka", address, "RPS_BOOTSTRAP_SERVERS")


def test_a_wrong_database_password(settings: Settings, postgres_url: str) -> None:
    """A subscriber and the read model given a wrong PostgreSQL password say the database
    refused it, naming neither the password nor a traceback."""
    user, _, rest = postgres_url.partition("://")[2].partition("@")
    wrong = f"postgresql+asyncpg://{user.split(':')[0]}:not-the-password@{rest}"
    for command in (
        ("subscribe", "E08000015", "--stop-at-end", "--db", wrong),
        ("readmodel", "--stop-at-end", "--db", wrong),
    ):
        done = run(settings, *command)
        assert_short(done, "refused the user name or password")
        assert "not-the-password" not in done.stderr + done.stdout


def test_a_missing_topic(settings: Settings) -> None:
    """Publishing to a prefix whose topics were never created says which topic and what to
    do, once, not once per retry."""
    missing = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}-none"})
    done = run(missing, "publish", "-", stdin=EVENT.read_bytes().splitlines()[0] + b"\n")
    assert_short(done, "does not exist", "rps topics create")


async def test_the_worker_and_its_libraries_log_in_one_format(
    settings: Settings, tmp_path: Path
) -> None:
    """In JSON, every line of a worker's log file (ours, Faust's, aiokafka's) is a JSON object
    with a level and a timestamp; no line carries Faust's [WARNING] prefix or an escape code."""
    port = free_port()
    ours = settings.model_copy(
        update={"state_dir": tmp_path / "state", "log_format": "json", "metrics_port": port}
    )
    log = tmp_path / "worker.log"
    worker = start_worker(ours, log)
    try:
        assert await until(lambda: readiness(port)[0] == 200)
    finally:
        stop_worker(worker)
    text = log.read_text()
    assert "\x1b" not in text
    assert "[WARNING]" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)
        assert {"event", "level", "timestamp"} <= set(record), line
