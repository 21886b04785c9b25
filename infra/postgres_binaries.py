"""PostgreSQL's server binaries: found in Debian's layout or on PATH, installed with apt when
we may, and the user they run as (``postgres`` when we are root: PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from infra.errors import MissingToolError

SERVICE_USER = "postgres"


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def find_bin_dir() -> Path | None:
    """The newest directory holding ``initdb`` and ``pg_ctl`` (Debian's layout, then PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_version_key, reverse=True
    )
    for pg_ctl in candidates:
        if (pg_ctl.parent / "initdb").is_file():
            return pg_ctl.parent
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).parent / "initdb").is_file():
        return Path(on_path).parent
    return None


def install() -> Path:
    """Find the PostgreSQL server binaries, installing Debian's package when we may."""
    found = find_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise MissingToolError(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: run "
            "`sudo apt-get install -y postgresql` (Debian/Ubuntu), or set RPS_DATABASE_URL to "
            "an existing PostgreSQL, or RPS_MANAGE_POSTGRES=false to run without it"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        result = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            shown = " ".join(command)
            raise MissingToolError(f"`{shown}` failed (exit {result.returncode}):\n{tail}")
    found = find_bin_dir()
    if found is None:
        raise MissingToolError("apt installed postgresql but no initdb/pg_ctl was found")
    return found


def service_user() -> str | None:
    """The user to run PostgreSQL as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise MissingToolError(
            "running as root, PostgreSQL needs a `postgres` user to run as: install Debian's "
            "`postgresql` package (it creates one) or run `rps infra up` as an ordinary user"
        ) from None
    return SERVICE_USER


def run_tool(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one of PostgreSQL's tools in ``cwd`` as the user PostgreSQL runs as; output captured."""
    return subprocess.run(
        command,
        user=service_user(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
