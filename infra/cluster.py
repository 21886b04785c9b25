"""A local KRaft cluster of several brokers on loopback, for what one broker cannot show.

``rps infra up --brokers 3`` runs three nodes, each a broker and a controller
(the quorum is the three), each with its own state directory under
``<state_dir>/kafka-cluster/node-<n>``, sharing one cluster id. Node ``n``
(1-based) listens on ``RPS_KAFKA_PORT + 2(n-1)`` for clients and
``RPS_KAFKA_CONTROLLER_PORT + 2(n-1)`` for the quorum: 9092/9093, 9094/9095,
9096/9097 by default. Every topic, the internal ones included, has three
replicas and ``min.insync.replicas=2``: a write is acknowledged (``acks=all``)
once two of the three hold it, so one node may die without losing one.

The fault tests use it with ports and a state directory of their own, kill a
node with SIGKILL and start it again (:func:`kill`, :func:`start_node`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass

from infra._process import log_tail, owned_pid, port_open, require_alive, terminate
from infra.errors import PortInUseError, ServiceError
from infra.kafka import detach, probe
from infra.kafka_config import (
    KafkaPaths,
    cluster_id,
    format_storage,
    jvm_command,
    log4j_config,
)
from infra.kafka_jars import check_java, resolve_classpath
from rps.settings import Settings

__all__ = ["Node", "bootstrap", "kill", "nodes", "start", "start_node", "stop"]

MIN_INSYNC = 2


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the cluster: its id, ports and files."""

    id: int
    port: int
    controller_port: int
    paths: KafkaPaths

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def nodes(settings: Settings, count: int) -> list[Node]:
    """The cluster's nodes for ``settings``: ports counted up in twos, one directory each."""
    home = settings.state_dir.expanduser() / "kafka-cluster"
    return [
        Node(
            n,
            settings.kafka_port + 2 * (n - 1),
            settings.kafka_controller_port + 2 * (n - 1),
            KafkaPaths(home / f"node-{n}"),
        )
        for n in range(1, count + 1)
    ]


def bootstrap(settings: Settings, count: int) -> str:
    """``RPS_BOOTSTRAP_SERVERS`` for the cluster: every node's client address."""
    return ",".join(node.address for node in nodes(settings, count))


def node_properties(settings: Settings, node: Node, every: list[Node]) -> str:
    """One node's configuration: broker and controller, replicated three ways."""
    replicas = str(len(every))
    insync = str(min(MIN_INSYNC, len(every)))
    voters = ",".join(f"{n.id}@127.0.0.1:{n.controller_port}" for n in every)
    lines = {
        "process.roles": "broker,controller",
        "node.id": str(node.id),
        "controller.quorum.voters": voters,
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.paths.data),
        "auto.create.topics.enable": "false",
        "num.partitions": str(settings.partitions),
        "default.replication.factor": replicas,
        "min.insync.replicas": insync,
        "offsets.topic.replication.factor": replicas,
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": insync,
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": insync,
        "share.coordinator.state.topic.num.partitions": "10",
        "group.initial.rebalance.delay.ms": "0",
        # A node that comes back catches up before it leads again.
        "unclean.leader.election.enable": "false",
        "auto.leader.rebalance.enable": "true",
        "leader.imbalance.check.interval.seconds": "10",
        # Sized for a shared two-core machine: three of these run at once.
        "num.network.threads": "1",
        "num.io.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def _pid(node: Node) -> int | None:
    return owned_pid(node.paths.pid, str(node.paths.properties))


def launch(settings: Settings, node: Node, every: list[Node], cluster: str) -> int:
    """Configure, format (once) and start one node detached. Returns its pid."""
    if _pid(node) is not None:
        raise ServiceError(f"Kafka node {node.id} already runs")
    if port_open("127.0.0.1", node.port) or port_open("127.0.0.1", node.controller_port):
        raise PortInUseError(
            f"port {node.port} or {node.controller_port} on 127.0.0.1 is held by another "
            "process: choose other ports with RPS_KAFKA_PORT and RPS_KAFKA_CONTROLLER_PORT"
        )
    java = check_java()
    classpath = resolve_classpath(settings)
    node.paths.data.mkdir(parents=True, exist_ok=True)
    node.paths.properties.write_text(node_properties(settings, node, every))
    node.paths.log4j.write_text(log4j_config(node.paths))
    format_storage(java, classpath, settings, node.paths, cluster=cluster)
    command = [
        *jvm_command(java, classpath, settings, node.paths),
        "kafka.Kafka",
        str(node.paths.properties),
    ]
    pid = detach(command, node.paths.console, node.paths.home)
    node.paths.pid.write_text(f"{pid}\n")
    return pid


def _cluster_id(settings: Settings) -> str:
    """The cluster's id, chosen once and kept beside its nodes."""
    record = settings.state_dir.expanduser() / "kafka-cluster" / "cluster.id"
    record.parent.mkdir(parents=True, exist_ok=True)
    if not record.is_file():
        record.write_text(cluster_id() + "\n")
    return record.read_text().strip()


async def start(settings: Settings, count: int = 3) -> list[int]:
    """Start every node not running yet and wait until the cluster answers with all of them."""
    every = nodes(settings, count)
    cluster = _cluster_id(settings)
    pids = []
    for node in every:
        pid = _pid(node)
        if pid is None:
            pid = await asyncio.to_thread(launch, settings, node, every, cluster)
        pids.append(pid)
    await wait_ready(settings, every, count)
    return pids


async def start_node(settings: Settings, node_id: int, count: int = 3) -> int:
    """Start one node again (after :func:`kill`) and wait until the cluster has all again."""
    every = nodes(settings, count)
    node = every[node_id - 1]
    pid = await asyncio.to_thread(launch, settings, node, every, _cluster_id(settings))
    await wait_ready(settings, every, count)
    return pid


def kill(settings: Settings, node_id: int, count: int = 3) -> int:
    """SIGKILL one node, as a machine dying would. Returns the pid killed."""
    node = nodes(settings, count)[node_id - 1]
    pid = _pid(node)
    if pid is None:
        raise ServiceError(f"Kafka node {node_id} is not running")
    os.kill(pid, signal.SIGKILL)
    while owned_pid(node.paths.pid, str(node.paths.properties)) is not None:
        time.sleep(0.05)
    node.paths.pid.unlink(missing_ok=True)
    return pid


def stop(settings: Settings, count: int = 3) -> list[int]:
    """Stop every node of the cluster (SIGTERM, then SIGKILL after a minute)."""
    stopped = []
    for node in nodes(settings, count):
        pid = _pid(node)
        if pid is not None:
            terminate(pid, grace_seconds=60)
            stopped.append(pid)
        node.paths.pid.unlink(missing_ok=True)
    return stopped


async def wait_ready(settings: Settings, every: list[Node], count: int) -> None:
    """Wait until a metadata request lists every node as a live broker."""
    deadline = time.monotonic() + settings.service_start_timeout
    while time.monotonic() < deadline:
        for node in every:
            pid = _pid(node)
            if pid is not None:
                require_alive(pid, f"Kafka node {node.id}", node.paths.log)
        if await _brokers(every) >= count:
            return
        await asyncio.sleep(0.5)
    logs = "\n".join(f"node {n.id}:\n{log_tail(n.paths.log)}" for n in every)
    raise ServiceError(
        f"the {count}-node Kafka cluster did not answer with all its brokers within "
        f"{settings.service_start_timeout:.0f} s (RPS_SERVICE_START_TIMEOUT):\n{logs}"
    )


async def _brokers(every: list[Node]) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    for node in every:
        if not await probe(node.address):
            continue
        admin = AIOKafkaAdminClient(bootstrap_servers=node.address, request_timeout_ms=5000)
        try:
            async with asyncio.timeout(10):
                await admin.start()
                return len((await admin.describe_cluster()).get("brokers", []))
        except Exception:  # still electing: not yet
            continue
        finally:
            await admin.close()
    return 0
