"""Files and directories that only their owner may read: where personal data and keys live.

Every file that holds personal data or a secret (SQLite databases of the hub,
the subscribers and the read model, the credential store, rejected lines,
password and key files, the demo's state) is created ``0600`` and every
directory we create under the state directory ``0700``, whatever the umask.
The mode is set when the file is created (``os.open`` with the mode), so there
is no moment at which another user could open it. A file we own that already
exists with group or other access (made by an older release) loses that
access; directories that already exist are left as they are, since they may
be shared on purpose.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
DIRECTORY_MODE: Final = 0o700
_SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")
"""SQLite creates these beside a database with the database's own mode; older ones are fixed."""


def private_directory(path: Path) -> Path:
    """``path``, with each missing directory on the way created ``0700``."""
    path = path.expanduser()
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty with mode ``0600`` when missing (its directories ``0700``).

    An existing file keeps its content; when we own it, group and other access
    are taken away.
    """
    path = path.expanduser()
    private_directory(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
    _tighten(path)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path``'s content with ``text``; the file is ``0600`` before anything is in it."""
    private_file(path)
    with path.open("w", encoding="utf-8") as stream:
        stream.write(text)


def private_sqlite(url: str) -> None:
    """When ``url`` names a SQLite database file, create it ``0600`` before SQLite opens it.

    SQLite gives its ``-wal``, ``-shm`` and journal files the database's mode,
    so they are private too. Other databases, in-memory SQLite and URLs that do
    not parse are left alone (whoever opens them reports the problem).
    """
    from sqlalchemy.engine import make_url  # only the processes that open databases pay for it
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:") or parsed.query.get("mode") == "memory":
        return
    path = private_file(Path(database))
    for suffix in _SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            _tighten(companion)


def _tighten(path: Path) -> None:
    status = path.stat()
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        path.chmod(stat.S_IMODE(status.st_mode) & ~0o077)
