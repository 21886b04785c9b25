"""The local broker's files and configuration: where it keeps them, ``server.properties``,
its log4j set-up, the JVM command line, and the one-time KRaft storage format.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from infra.errors import ServiceError
from rps.settings import Settings


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
        # Records past retention go at the next check (and not before the first).
        "log.retention.check.interval.ms": str(settings.kafka_retention_check_ms),
        "log.initial.task.delay.ms": str(min(30_000, settings.kafka_retention_check_ms)),
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


def cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def jvm_command(
    java: str, classpath: list[Path], settings: Settings, paths: KafkaPaths
) -> list[str]:
    """``java`` with the broker's heap, collector, log set-up and classpath; a class comes next."""
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


def format_storage(
    java: str,
    classpath: list[Path],
    settings: Settings,
    paths: KafkaPaths,
    *,
    cluster: str | None = None,
) -> bool:
    """Format the log directory once (KRaft needs it), for ``cluster`` (the id every node of a
    cluster shares; a new one by default). True when it formatted now."""
    if (paths.data / "meta.properties").is_file():
        return False
    command = [
        *jvm_command(java, classpath, settings, paths),
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        cluster or cluster_id(),
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
