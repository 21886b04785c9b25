"""Files holding personal data or keys are created 0600, their new directories 0700.

Each test runs under the common umask 022, which would otherwise give 0644
files and 0755 directories, creates the file the way the product does, and
checks its mode with ``stat``.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cli.spawn import start_worker, stop_worker
from consumers._database import create_engine
from consumers.readmodel import open_read_model
from consumers.subscriber import default_db_url
from producers.credentials import add_publisher
from producers.files import publish_file
from rps.private import private_directory, private_file, private_sqlite, write_private
from rps.settings import Settings
from tests.unit.producers.support import SOURCE, line, simple

pytestmark = pytest.mark.usefixtures("umask_022")


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sqlite_files(database: Path) -> list[Path]:
    """The database and whichever of its -wal and -shm files exist."""
    candidates = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    return [path for path in candidates if path.exists()]


def test_a_private_directory_and_its_missing_parents_are_0700(tmp_path: Path) -> None:
    """Every directory created on the way is 0700; the one that existed is left as it was."""
    tmp_path.chmod(0o755)
    made = private_directory(tmp_path / "state" / "authorities")
    assert mode(made) == 0o700
    assert mode(made.parent) == 0o700
    assert mode(tmp_path) == 0o755


def test_a_private_file_is_0600_and_an_old_open_one_is_tightened(tmp_path: Path) -> None:
    """New files are 0600 from creation; an old 0644 file of ours keeps its bytes, loses g/o."""
    new = private_file(tmp_path / "a" / "key")
    assert mode(new) == 0o600
    assert mode(new.parent) == 0o700
    old = tmp_path / "old.db"
    old.write_bytes(b"kept")
    old.chmod(0o644)
    private_file(old)
    assert (mode(old), old.read_bytes()) == (0o600, b"kept")
    write_private(tmp_path / "password", "secret\n")
    assert mode(tmp_path / "password") == 0o600


def test_urls_that_are_not_sqlite_files_are_left_alone(tmp_path: Path) -> None:
    """PostgreSQL, in-memory SQLite and nonsense create nothing."""
    for url in (
        "postgresql+asyncpg://rps@127.0.0.1/rps",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
        "not a url",
    ):
        private_sqlite(url)
    assert list(tmp_path.iterdir()) == []


async def test_an_authority_database_and_its_wal_are_0600(tmp_path: Path) -> None:
    """The subscriber's default database under the state directory: files 0600, folders 0700."""
    settings = Settings(state_dir=tmp_path / "state")
    url = default_db_url(settings, "E08000012")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        database = Path(url.removeprefix("sqlite+aiosqlite:///"))
        files = sqlite_files(database)
        assert len(files) >= 2  # the WAL exists while the engine is open
        assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    finally:
        await engine.dispose()
    assert mode(database.parent) == 0o700
    assert mode(tmp_path / "state") == 0o700


async def test_the_read_model_database_is_0600(tmp_path: Path) -> None:
    """The hub's read model (residents' profiles) is created 0600."""
    database = tmp_path / "hub.db"
    model = await open_read_model(f"sqlite+aiosqlite:///{database}")
    await model.close()
    assert mode(database) == 0o600


async def test_the_credential_store_is_0600(tmp_path: Path) -> None:
    """`rps publishers add` on a fresh SQLite hub database creates it 0600."""
    database = tmp_path / "new" / "hub.db"
    await add_publisher(Settings(database_url=f"sqlite+aiosqlite:///{database}"), SOURCE)
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700


async def test_the_rejected_lines_file_is_0600(tmp_path: Path) -> None:
    """`rps publish` keeps rejected input (personal data) in a file only its owner reads."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(simple(value="not a phone")) + b"\n")
    summary = await publish_file(Settings(), str(events), source=SOURCE, dry_run=True)
    assert summary.rejected_path is not None
    assert mode(summary.rejected_path) == 0o600


async def test_a_spawned_workers_log_and_the_demo_folder_are_private(tmp_path: Path) -> None:
    """The demo's state folder is 0700 and a worker's log (started as the demo does) 0600."""
    workdir = private_directory(tmp_path / "state" / "demo" / "rps-demo-1")
    worker = start_worker(
        Settings(state_dir=tmp_path / "state", bootstrap_servers="127.0.0.1:9"),
        workdir / "worker.log",
    )
    try:
        assert mode(workdir) == 0o700
        assert mode(workdir / "worker.log") == 0o600
    finally:
        await asyncio.to_thread(stop_worker, worker, kill=True)
