"""A local PostgreSQL cluster from Debian's packages, on loopback, with an ``rps`` database.

The binaries come from :mod:`infra.postgres_binaries` (installed with apt when
absent, as root; otherwise the error says what to install). The cluster is
created once with ``initdb``, started with ``pg_ctl`` on
``127.0.0.1:<postgres_port>`` with its socket beside the data, and is ready
only when a real login as ``rps`` succeeds. PostgreSQL refuses to run as root,
so when we are root the cluster belongs to the ``postgres`` user and lives
under its home, ``/var/lib/postgresql/rps/<id>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from infra._process import log_tail, owned_pid, port_open
from infra.errors import PortInUseError, ServiceError
from infra.postgres_binaries import (
    SERVICE_USER,
    find_bin_dir,
    install,
    run_tool,
    service_user,
)
from rps.private import private_directory, write_private
from rps.settings import Settings, redact_url

DATABASE = "rps"
ROLE = "rps"
_ROOT_CLUSTERS = Path("/var/lib/postgresql/rps")


@dataclass(frozen=True, slots=True)
class PostgresPaths:
    """Our own files (``<state_dir>/postgres``) and the cluster's (``cluster``)."""

    home: Path
    cluster: Path

    @classmethod
    def of(cls, settings: Settings) -> PostgresPaths:
        home = settings.state_dir.expanduser() / "postgres"
        if os.geteuid() != 0:
            return cls(home, home)
        digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
        return cls(home, _ROOT_CLUSTERS / digest)

    @property
    def data(self) -> Path:
        return self.cluster / "data"

    @property
    def log(self) -> Path:
        return self.cluster / "postgres.log"

    @property
    def password(self) -> Path:
        return self.home / "password"

    @property
    def record(self) -> Path:
        return self.home / "cluster.json"


@dataclass(frozen=True, slots=True)
class PostgresStatus:
    """What `status` reports about the local PostgreSQL."""

    running: bool
    pid: int | None
    url: str  # without the password
    log: Path


def local_url(settings: Settings) -> str:
    """``postgresql+asyncpg://rps:<password>@127.0.0.1:<port>/rps`` for the local cluster."""
    paths = PostgresPaths.of(settings)
    try:
        password = paths.password.read_text().strip()
    except FileNotFoundError:
        raise ServiceError(
            "the local PostgreSQL has not been set up yet: run `rps infra up`"
        ) from None
    return f"postgresql+asyncpg://{ROLE}:{password}@127.0.0.1:{settings.postgres_port}/{DATABASE}"


def is_managed(settings: Settings) -> bool:
    """Whether `up` runs PostgreSQL: wanted, and ``RPS_DATABASE_URL`` does not point elsewhere."""
    if not settings.manage_postgres:
        return False
    url = settings.database_url.get_secret_value()
    if not url.startswith("postgresql"):
        return True  # SQLite for the demo; tests still exercise the local PostgreSQL
    location = url.partition("://")[2].rpartition("@")[2].split("/", 1)[0]
    port = settings.postgres_port
    return location in (f"127.0.0.1:{port}", f"localhost:{port}")


# --- cluster ---------------------------------------------------------------------------


def _prepare(paths: PostgresPaths) -> None:
    private_directory(paths.home)
    if not paths.password.is_file():
        write_private(paths.password, secrets.token_urlsafe(24) + "\n")
    paths.cluster.mkdir(parents=True, exist_ok=True, mode=0o700)
    user = service_user()
    if user is not None:
        shutil.chown(paths.cluster, user, user)


def initdb(bin_dir: Path, paths: PostgresPaths) -> bool:
    """Create the cluster once. True when it was created now."""
    if (paths.data / "PG_VERSION").is_file():
        return False
    result = run_tool(
        [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(paths.data),
            "--username",
            SERVICE_USER,
            "--auth-local",
            "trust",  # the socket lives in a directory only the cluster's owner can open
            "--auth-host",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--no-locale",
        ],
        cwd=paths.cluster,
    )
    if result.returncode != 0:
        raise ServiceError(f"initdb in {paths.data} failed:\n{result.stdout}{result.stderr}")
    return True


def running_pid(settings: Settings) -> int | None:
    """The postmaster's pid if the cluster `up` created is running."""
    paths = PostgresPaths.of(settings)
    return owned_pid(paths.data / "postmaster.pid", str(paths.data))


def pg_start(bin_dir: Path, settings: Settings, paths: PostgresPaths) -> None:
    """Start the cluster on loopback and wait until it accepts connections."""
    if port_open("127.0.0.1", settings.postgres_port):
        raise PortInUseError(
            f"port {settings.postgres_port} on 127.0.0.1 is held by a process `rps infra up` "
            "did not start: stop it, or choose another port with RPS_POSTGRES_PORT"
        )
    options = " ".join(
        (
            "-c listen_addresses=127.0.0.1",
            f"-c port={settings.postgres_port}",
            f"-c unix_socket_directories={shlex.quote(str(paths.cluster))}",
        )
    )
    timeout = str(int(settings.service_start_timeout))
    command = [str(bin_dir / "pg_ctl"), "-D", str(paths.data), "-l", str(paths.log)]
    result = run_tool([*command, "-w", "-t", timeout, "-o", options, "start"], cwd=paths.cluster)
    if result.returncode != 0:
        raise ServiceError(
            f"PostgreSQL did not start (pg_ctl exit {result.returncode}); the end of "
            f"{paths.log}:\n{log_tail(paths.log)}"
        )


def pg_stop(settings: Settings) -> int | None:
    """Stop the cluster `up` started (and nothing else). Returns the pid it stopped, if any."""
    paths = PostgresPaths.of(settings)
    pid = running_pid(settings)
    bin_dir = find_bin_dir()
    if pid is None or bin_dir is None:
        return None
    result = run_tool(
        [str(bin_dir / "pg_ctl"), "-D", str(paths.data), "-m", "fast", "-w", "stop"],
        cwd=paths.cluster,
    )
    if result.returncode != 0:
        raise ServiceError(f"pg_ctl stop failed:\n{result.stdout}{result.stderr}")
    return pid


def _recorded_port(paths: PostgresPaths) -> int | None:
    try:
        return int(json.loads(paths.record.read_text())["port"])
    except (OSError, ValueError, KeyError):
        return None


async def _provision(settings: Settings, paths: PostgresPaths) -> None:
    """Create (or re-key) the ``rps`` role and database, over the cluster's own socket."""
    password = paths.password.read_text().strip()
    admin_url = (
        f"postgresql+asyncpg://{SERVICE_USER}@/postgres"
        f"?host={paths.cluster}&port={settings.postgres_port}"
    )
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": ROLE}
            )
            verb = "ALTER" if exists else "CREATE"
            # The password is url-safe base64 we generated: nothing in it needs quoting.
            await connection.execute(
                text(f"{verb} ROLE {ROLE} LOGIN CREATEDB PASSWORD '{password}'")
            )
            has_db = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE}
            )
            if not has_db:
                await connection.execute(text(f"CREATE DATABASE {DATABASE} OWNER {ROLE}"))
    finally:
        await engine.dispose()


async def probe(url: str, wait_seconds: float = 5.0) -> bool:
    """Whether a real login with ``url`` succeeds and answers ``SELECT 1``."""
    engine = create_async_engine(url, connect_args={"timeout": wait_seconds})
    try:
        async with engine.connect() as connection:
            return bool(await connection.scalar(text("SELECT 1")) == 1)
    except Exception:  # not up yet, or the login was refused: either way "not answering"
        return False
    finally:
        await engine.dispose()


async def start(settings: Settings) -> tuple[int, bool]:
    """Install, create and start the local cluster, or reuse it. Returns (pid, started_now)."""
    paths = PostgresPaths.of(settings)
    bin_dir = await asyncio.to_thread(install)
    pid = running_pid(settings)
    if pid is not None and _recorded_port(paths) != settings.postgres_port:
        await asyncio.to_thread(pg_stop, settings)  # RPS_POSTGRES_PORT moved: restart there
        pid = None
    started = pid is None
    if pid is None:
        await asyncio.to_thread(_prepare, paths)
        await asyncio.to_thread(initdb, bin_dir, paths)
        await asyncio.to_thread(pg_start, bin_dir, settings, paths)
        pid = running_pid(settings)
        if pid is None:
            raise ServiceError(f"PostgreSQL started but wrote no pid; see {paths.log}")
        paths.record.write_text(
            json.dumps({"data": str(paths.data), "port": settings.postgres_port, "pid": pid})
        )
    await _provision(settings, paths)
    url = local_url(settings)
    deadline = time.monotonic() + settings.service_start_timeout
    while not await probe(url):
        if time.monotonic() > deadline:
            raise ServiceError(
                f"PostgreSQL (pid {pid}) did not accept a login at {redact_url(url)}; "
                f"the end of {paths.log}:\n{log_tail(paths.log)}"
            )
        await asyncio.sleep(0.25)
    return pid, started


async def status(settings: Settings) -> PostgresStatus:
    """Whether the local cluster runs and accepts a login."""
    paths = PostgresPaths.of(settings)
    pid = running_pid(settings)
    try:
        url = local_url(settings)
    except ServiceError:
        url = ""
    port = _recorded_port(paths) if pid is not None else None
    if url and port is not None:
        url = url.replace(f"@127.0.0.1:{settings.postgres_port}/", f"@127.0.0.1:{port}/")
    answering = pid is not None and bool(url) and await probe(url)
    shown = redact_url(url) if url else f"127.0.0.1:{settings.postgres_port} (not set up)"
    return PostgresStatus(answering, pid, shown, paths.log)
