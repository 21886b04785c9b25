"""Start and stop worker processes for the demo, the tests and the fault suite.

A worker is always a separate ``rps worker`` process, exactly as an operator
runs it, configured through ``RPS_*`` variables derived from a ``Settings``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rps.private import private_file
from rps.settings import Settings

_FIELDS = (
    "bootstrap_servers",
    "topic_prefix",
    "partitions",
    "replication_factor",
    "app_id",
    "store",
    "state_dir",
    "expiry_tick_seconds",
    "log_format",
    "log_level",
    "fault_crash_after",
    "fault_crash_at",
    "fault_drop_after",
    "fault_drop_count",
    "worker_stall_check_seconds",
    "metrics_port",
    "trust",
    "registry_grace_seconds",
    "seal_profiles",
)


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a child process build the same settings."""
    env = dict(os.environ)
    for name in _FIELDS:
        env[f"RPS_{name.upper()}"] = str(getattr(settings, name))
    env["RPS_PSEUDONYM_KEY"] = settings.pseudonym_key.get_secret_value()
    env["RPS_DATABASE_URL"] = settings.database_url.get_secret_value()
    env.update(extra)
    return env


def start_worker(settings: Settings, log_file: Path, **extra: str) -> subprocess.Popen[bytes]:
    """Start ``rps worker`` in the background, its output appended to ``log_file``."""
    with private_file(log_file).open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"],
            env=environment(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop_worker(process: subprocess.Popen[bytes], *, kill: bool = False, wait: float = 30) -> None:
    """Stop a worker: gracefully (SIGTERM, then SIGKILL after ``wait``) or at once (``kill``)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
