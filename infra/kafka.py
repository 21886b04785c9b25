"""A local Apache Kafka 4.x broker in KRaft combined mode: started, reused, probed and stopped.

The broker runs detached with a pid file, from the jars of
:mod:`infra.kafka_jars` and the configuration of :mod:`infra.kafka_config`, and
is ready only when a real metadata request answers with a live broker.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from infra._process import log_tail, owned_pid, port_open, require_alive, terminate
from infra.errors import PortInUseError, ServiceError
from infra.kafka_config import (
    KafkaPaths,
    format_storage,
    jvm_command,
    log4j_config,
    server_properties,
)
from infra.kafka_jars import (
    check_java,
    class_archive,
    kafka_version,
    resolve_classpath,
    sharing_flags,
)
from rps.private import private_directory
from rps.settings import Settings

_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True, slots=True)
class KafkaStatus:
    """What `status` reports about the local broker."""

    running: bool
    pid: int | None
    address: str
    version: str
    log: Path


def local_address(settings: Settings) -> str:
    """The bootstrap address of the local broker."""
    return f"127.0.0.1:{settings.kafka_port}"


def is_local(settings: Settings) -> bool:
    """Whether ``bootstrap_servers`` names the broker `rps infra up` runs (else it is external)."""
    servers = [s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()]
    for server in servers:
        host, _, port = server.rpartition(":")
        if host not in _LOOPBACK or port != str(settings.kafka_port):
            return False
    return bool(servers)


async def probe(bootstrap: str, wait_seconds: float = 5.0) -> bool:
    """Whether a real metadata request to ``bootstrap`` answers with at least one live broker."""
    host, _, port = bootstrap.rpartition(":")
    if not await asyncio.to_thread(port_open, host, int(port)):
        return False
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(wait_seconds * 1000)
    )
    try:
        async with asyncio.timeout(wait_seconds * 2):
            await admin.start()
            cluster = await admin.describe_cluster()
    except Exception:  # the broker is still starting: any failure means "not yet"
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))


async def wait_ready(settings: Settings, pid: int) -> None:
    """Wait until the broker answers a metadata request, or fail with the end of its log."""
    paths = KafkaPaths.of(settings)
    deadline = time.monotonic() + settings.service_start_timeout
    while time.monotonic() < deadline:
        require_alive(pid, "Kafka", paths.log)
        if await probe(local_address(settings)):
            return
        await asyncio.sleep(0.25)
    raise ServiceError(
        f"Kafka (pid {pid}) did not answer on {local_address(settings)} within "
        f"{settings.service_start_timeout:.0f} s (RPS_SERVICE_START_TIMEOUT); "
        f"the end of {paths.log}:\n{log_tail(paths.log)}"
    )


def running_pid(settings: Settings) -> int | None:
    """The pid of the broker `up` started from this state directory, if it still runs."""
    paths = KafkaPaths.of(settings)
    return owned_pid(paths.pid, str(paths.properties))


def _recorded(paths: KafkaPaths) -> dict[str, object]:
    """What `launch` wrote down about the running broker: pid, version and ports."""
    try:
        found = json.loads(paths.record.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _wanted(settings: Settings) -> dict[str, object]:
    return {
        "version": kafka_version(),
        "port": settings.kafka_port,
        "controller_port": settings.kafka_controller_port,
    }


def detach(command: list[str], console: Path, cwd: Path) -> int:
    """Start ``command`` in its own session, not as our child, and return its pid.

    A shell starts it in the background and exits at once, so the broker outlives
    this process, is never left a zombie of ours, and no Popen object is left
    waiting for it.
    """
    script = '"$@" </dev/null >>"$0" 2>&1 & echo $!'
    launcher = subprocess.run(
        ["/bin/sh", "-c", script, str(console), *command],
        cwd=cwd,
        start_new_session=True,  # survives the command that started it, and Ctrl-C there
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return int(launcher.stdout.strip())


def launch(settings: Settings) -> int:
    """Resolve, configure, format and start the broker detached. Returns its pid (not yet ready)."""
    paths = KafkaPaths.of(settings)
    java = check_java()
    if port_open("127.0.0.1", settings.kafka_port) or port_open(
        "127.0.0.1", settings.kafka_controller_port
    ):
        raise PortInUseError(
            f"port {settings.kafka_port} or {settings.kafka_controller_port} on 127.0.0.1 is "
            "held by a process `rps infra up` did not start: stop it, or choose other ports "
            "with RPS_KAFKA_PORT and RPS_KAFKA_CONTROLLER_PORT"
        )
    classpath = resolve_classpath(settings)
    private_directory(paths.data)
    paths.properties.write_text(server_properties(settings, paths))
    paths.log4j.write_text(log4j_config(paths))
    format_storage(java, classpath, settings, paths)
    sharing, partial = sharing_flags(settings)
    command = [
        *jvm_command(java, classpath, settings, paths),
        *sharing,
        "kafka.Kafka",
        str(paths.properties),
    ]
    pid = detach(command, paths.console, paths.home)
    paths.pid.write_text(f"{pid}\n")
    record = {"pid": pid, **_wanted(settings), "archive": str(partial) if partial else None}
    paths.record.write_text(json.dumps(record))
    return pid


def stop(settings: Settings) -> int | None:
    """Stop the broker `up` started (and nothing else). Returns the pid it stopped, if any."""
    paths = KafkaPaths.of(settings)
    pid = running_pid(settings)
    if pid is not None:
        killed = terminate(pid, grace_seconds=60)
        _keep_archive(settings, _recorded(paths).get("archive"), complete=not killed)
    paths.pid.unlink(missing_ok=True)
    return pid


def _keep_archive(settings: Settings, partial: object, *, complete: bool) -> None:
    """Put the class archive a broker wrote at exit in place (or drop it, if cut short)."""
    if not isinstance(partial, str) or not Path(partial).is_file():
        return
    if complete:
        Path(partial).replace(class_archive(settings))
    else:
        Path(partial).unlink(missing_ok=True)


async def start(settings: Settings) -> tuple[int, bool]:
    """Start the local broker, or reuse the one already running. Returns (pid, started_now)."""
    paths = KafkaPaths.of(settings)
    pid = running_pid(settings)
    recorded = _recorded(paths)
    if pid is not None and {k: recorded.get(k) for k in _wanted(settings)} != _wanted(settings):
        await asyncio.to_thread(stop, settings)  # the pin or a port moved: restart as wanted
        pid = None
    started = pid is None
    if pid is None:
        pid = await asyncio.to_thread(launch, settings)
    await wait_ready(settings, pid)
    return pid, started


async def status(settings: Settings) -> KafkaStatus:
    """Whether the local broker runs and answers."""
    paths = KafkaPaths.of(settings)
    pid = running_pid(settings)
    recorded = _recorded(paths)
    address = local_address(settings)
    if pid is not None and recorded.get("port"):
        address = f"127.0.0.1:{recorded['port']}"  # where it really listens
    answering = pid is not None and await probe(address)
    version = str(recorded.get("version") or kafka_version())
    return KafkaStatus(answering, pid, address, version, paths.log)
