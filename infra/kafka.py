"""A local Apache Kafka 4.x broker in KRaft combined mode, run from jars Maven fetches.

Maven resolves the runtime classpath of ``infra/pom.xml`` once; the list of jars
is cached under ``Settings.cache_dir`` so a second start runs no Maven at all.
Storage is formatted once; the broker runs detached with a pid file, and is
ready only when a real metadata request answers with a live broker.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from aiokafka.admin import AIOKafkaAdminClient

from infra._process import log_tail, owned_pid, port_open, require_alive, terminate
from infra.errors import MissingToolError, PortInUseError, ServiceError
from rps.private import private_directory
from rps.settings import Settings

POM = Path(__file__).with_name("pom.xml")
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@cache
def kafka_version() -> str:
    """The Kafka version pinned in ``infra/pom.xml`` (the one place it is spelled)."""
    root = ElementTree.parse(POM).getroot()
    version = root.findtext("m:properties/m:kafka.version", namespaces=_POM_NS)
    if not version:
        raise ServiceError(f"{POM} has no <kafka.version> property")
    return version.strip()


@dataclass(frozen=True, slots=True)
class KafkaPaths:
    """Where the local broker keeps its files, all under ``<state_dir>/kafka``."""

    home: Path

    @classmethod
    def of(cls, settings: Settings) -> KafkaPaths:
        return cls(settings.state_dir.expanduser() / "kafka")

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.home / "log4j2.xml"

    @property
    def log(self) -> Path:
        return self.home / "kafka.log"

    @property
    def console(self) -> Path:
        return self.home / "console.log"

    @property
    def pid(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def record(self) -> Path:
        return self.home / "kafka.json"


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


# --- tools and classpath ---------------------------------------------------------------


def check_java() -> str:
    """The path of a Java 17+ runtime, or a MissingToolError saying what to install."""
    java = shutil.which("java")
    advice = (
        f"Kafka {kafka_version()} needs Java 17 or newer: install it, for example "
        "`apt-get install -y openjdk-17-jre-headless`, and make sure `java` is on PATH"
    )
    if java is None:
        raise MissingToolError(f"java not found. {advice}")
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', probe.stderr + probe.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_392" style
        major = int(match.group(2))
    if major < 17:
        raise MissingToolError(f"java at {java} is version {major or 'unknown'}. {advice}")
    return java


def _classpath_file(settings: Settings) -> Path:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return settings.cache_dir.expanduser() / f"kafka-{kafka_version()}" / f"classpath-{digest}.txt"


def class_archive(settings: Settings) -> Path:
    """Where the JVM's class-data-sharing archive of the broker's classes is kept."""
    return _classpath_file(settings).with_name(
        _classpath_file(settings).name.replace("classpath-", "classes-").replace(".txt", ".jsa")
    )


def sharing_flags(settings: Settings) -> tuple[list[str], Path | None]:
    """JVM flags for class-data sharing, and the partial archive this run will write, if any.

    Starting the JVM is most of a warm start's cost. The first broker dumps the
    classes it loaded into an archive when it exits (at `down`); later starts map
    that archive and start markedly faster. A stale or foreign archive is
    ignored by the JVM, which then starts as usual.
    """
    archive = class_archive(settings)
    if archive.is_file():
        return [f"-XX:SharedArchiveFile={archive}"], None
    partial = archive.with_name(f"{archive.name}.{uuid.uuid4().hex[:8]}.partial")
    return [f"-XX:ArchiveClassesAtExit={partial}"], partial


def cached_classpath(settings: Settings) -> list[Path] | None:
    """The cached classpath, when every jar on it is still present."""
    try:
        entries = _classpath_file(settings).read_text().strip().split(":")
    except FileNotFoundError:
        return None
    jars = [Path(entry) for entry in entries if entry]
    return jars if jars and all(jar.is_file() for jar in jars) else None


def resolve_classpath(settings: Settings) -> list[Path]:
    """The broker's runtime classpath: cached, or resolved by Maven (slow the first time)."""
    cached = cached_classpath(settings)
    if cached is not None:
        return cached
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError(
            "mvn not found: Maven fetches the Kafka jars from Maven Central. "
            "Install it, for example `apt-get install -y maven`"
        )
    target = _classpath_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:build-classpath",
        f"-Dmdep.outputFile={partial}",
        "-Dmdep.includeScope=runtime",
    ]
    if settings.maven_repo is not None:
        command.append(f"-Dmaven.repo.local={settings.maven_repo.expanduser()}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not partial.is_file():
        output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ServiceError(
            f"Maven could not resolve Kafka {kafka_version()} from {POM} "
            f"(exit {result.returncode}). Is Maven Central reachable?\n{output}"
        )
    partial.replace(target)
    jars = cached_classpath(settings)
    if jars is None:
        raise ServiceError(f"Maven wrote a classpath with missing jars: {target}")
    return jars


# --- configuration and storage ---------------------------------------------------------


def server_properties(settings: Settings, paths: KafkaPaths) -> str:
    """The broker's configuration: one node, broker and controller, loopback only."""
    port, controller = settings.kafka_port, settings.kafka_controller_port
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(paths.data),
        # Topics are created on purpose (`rps topics create`, Faust's own changelogs),
        # never as a side effect of a typo: as on a production cluster.
        "auto.create.topics.enable": "false",
        "num.partitions": str(settings.partitions),
        # A single node: every internal topic has one replica.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "10",
        "group.initial.rebalance.delay.ms": "0",
        # Sized for two cores.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def log4j_config(paths: KafkaPaths) -> str:
    """A log4j 2 configuration that writes the broker's log to a rolling file in the state dir."""
    log = str(paths.log)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="file" fileName={quoteattr(log)} filePattern={quoteattr(log + ".%i")}>
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _jvm(java: str, classpath: list[Path], settings: Settings, paths: KafkaPaths) -> list[str]:
    heap = settings.kafka_heap
    return [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}",
        f"-Dkafka.logs.dir={paths.home}",
        "-cp",
        ":".join(str(jar) for jar in classpath),
    ]


def format_storage(java: str, classpath: list[Path], settings: Settings, paths: KafkaPaths) -> bool:
    """Format the log directory once (KRaft needs it). True when it formatted now."""
    if (paths.data / "meta.properties").is_file():
        return False
    command = [
        *_jvm(java, classpath, settings, paths),
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        _cluster_id(),
        "--config",
        str(paths.properties),
    ]
    # The tool needs far less memory than the broker.
    command[1:3] = ["-Xms64m", "-Xmx256m"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(
            f"formatting Kafka storage in {paths.data} failed:\n{result.stdout}{result.stderr}"
        )
    return True


# --- start, wait, stop -----------------------------------------------------------------


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


def _detach(command: list[str], console: Path, cwd: Path) -> int:
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
        *_jvm(java, classpath, settings, paths),
        *sharing,
        "kafka.Kafka",
        str(paths.properties),
    ]
    pid = _detach(command, paths.console, paths.home)
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
