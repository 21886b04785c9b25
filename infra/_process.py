"""Small process helpers shared by the Kafka and PostgreSQL launchers: pid files, ports, logs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from infra.errors import ServiceError


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file``, or None when there is none."""
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    first = text.splitlines()[0] if text else ""
    return int(first) if first.isdigit() else None


def command_line(pid: int) -> str:
    """The command line of a running process ('' when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_alive(pid: int) -> bool:
    """Whether ``pid`` names a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X")


def owned_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and its command line holds ``marker``.

    The marker (a path inside our state directory) makes sure we never signal a
    process that merely reused an old pid.
    """
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid) or marker not in command_line(pid):
        return None
    return pid


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def terminate(pid: int, grace_seconds: float) -> bool:
    """Send SIGTERM, wait up to ``grace_seconds``, then SIGKILL. True if it had to kill."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while is_alive(pid):
        time.sleep(0.05)
    return True


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, indented, for an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log written)"
    return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])


def require_alive(pid: int, what: str, log: Path) -> None:
    """Raise when a process we just started has already exited."""
    if not is_alive(pid):
        raise ServiceError(f"{what} exited during start-up; the end of {log}:\n{log_tail(log)}")
