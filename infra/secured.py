"""A private Kafka broker with SASL/SCRAM authentication and per-topic ACLs.

The configuration the ACL tests run (and a sketch of production's): one
KRaft node whose client listener speaks ``SASL_PLAINTEXT`` with
``SCRAM-SHA-512``, authorised by ``StandardAuthorizer``. The hub's user is the
only super user; every other user is created at format time
(``kafka-storage format --add-scram``) and may do only what its ACLs allow:

- an authority reads its own delivery topic (with its subscriber's consumer
  group) and writes acknowledgements, nothing else;
- a publisher writes the inbound topics, nothing else.

The controller listener stays ``PLAINTEXT`` on loopback (SCRAM cannot
authenticate the controller quorum, whose metadata holds the SCRAM
credentials); its anonymous principal is a super user there only. Production
would put the controllers on a private network with mTLS or SASL/PLAIN.

It reuses the local broker's jars, JVM flags, log configuration and stop; its
files live under the given settings' ``state_dir``, so it never touches the
broker ``rps infra up`` runs.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest
from pydantic import SecretStr

from infra import kafka, kafka_config, kafka_jars
from infra._process import log_tail, port_open, require_alive
from infra.errors import PortInUseError, ServiceError
from rps.private import private_directory, write_private
from rps.settings import Settings
from schemas.topics import Topics

MECHANISM = "SCRAM-SHA-512"
stop = kafka.stop


@dataclass(frozen=True, slots=True)
class ScramUser:
    """A SCRAM user: a name and its password."""

    name: str
    password: str

    @property
    def principal(self) -> str:
        return f"User:{self.name}"


class Resource(IntEnum):
    """Kafka's ACL resource types (the wire codes)."""

    TOPIC = 2
    GROUP = 3


class Operation(IntEnum):
    """Kafka's ACL operations (the wire codes)."""

    READ = 3
    WRITE = 4
    DESCRIBE = 8


@dataclass(frozen=True, slots=True)
class Acl:
    """One ALLOW rule: ``principal`` may do ``operation`` on the literal resource ``name``."""

    resource: Resource
    name: str
    principal: str
    operation: Operation


def authority_acls(topics: Topics, authority: str, user: ScramUser, group: str) -> list[Acl]:
    """An authority reads its own deliveries (with ``group``) and writes acknowledgements."""
    deliveries = topics.deliveries(authority)
    return [
        Acl(Resource.TOPIC, deliveries, user.principal, Operation.READ),
        Acl(Resource.TOPIC, deliveries, user.principal, Operation.DESCRIBE),
        Acl(Resource.GROUP, group, user.principal, Operation.READ),
        Acl(Resource.TOPIC, topics.acknowledgements, user.principal, Operation.WRITE),
        Acl(Resource.TOPIC, topics.acknowledgements, user.principal, Operation.DESCRIBE),
    ]


def publisher_acls(topics: Topics, user: ScramUser) -> list[Acl]:
    """A publisher writes the inbound topics only."""
    return [
        Acl(Resource.TOPIC, topic, user.principal, operation)
        for topic in (topics.attributes, topics.consents)
        for operation in (Operation.WRITE, Operation.DESCRIBE)
    ]


def client_settings(settings: Settings, user: ScramUser) -> Settings:
    """``settings`` for a client that signs in as ``user``."""
    return settings.model_copy(
        update={
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": MECHANISM,
            "sasl_username": user.name,
            "sasl_password": SecretStr(user.password),
        }
    )


def server_properties(settings: Settings, paths: kafka_config.KafkaPaths, hub: ScramUser) -> str:
    """The broker's configuration: SASL/SCRAM on the client listener, ACLs enforced."""
    port, controller = settings.kafka_port, settings.kafka_controller_port
    plain = kafka_config.server_properties(settings, paths)
    kept = [line for line in plain.splitlines() if line.split("=", 1)[0] not in _REPLACED]
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{hub.name}" password="{hub.password}";'
    )
    secured = {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.sasl_plaintext.{MECHANISM.lower()}.sasl.jaas.config": jaas,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"{hub.principal};User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    }
    return "\n".join([*kept, *(f"{key}={value}" for key, value in secured.items())]) + "\n"


_REPLACED = frozenset(
    {
        "listeners",
        "advertised.listeners",
        "inter.broker.listener.name",
        "listener.security.protocol.map",
    }
)


def launch(settings: Settings, hub: ScramUser, users: Sequence[ScramUser]) -> int:
    """Configure, format (with every SCRAM user) and start the broker detached; its pid."""
    paths = kafka_config.KafkaPaths.of(settings)
    java = kafka_jars.check_java()
    if port_open("127.0.0.1", settings.kafka_port) or port_open(
        "127.0.0.1", settings.kafka_controller_port
    ):
        raise PortInUseError(
            f"port {settings.kafka_port} or {settings.kafka_controller_port} is already in use"
        )
    classpath = kafka_jars.resolve_classpath(settings)
    private_directory(paths.data)
    write_private(paths.properties, server_properties(settings, paths, hub))  # passwords
    paths.log4j.write_text(kafka_config.log4j_config(paths))
    jvm = kafka_config.jvm_command(java, classpath, settings, paths)
    if not (paths.data / "meta.properties").is_file():
        scram = [
            argument
            for user in (hub, *users)
            for argument in (
                "--add-scram",
                f"{MECHANISM}=[name={user.name},password={user.password}]",
            )
        ]
        command = [
            jvm[0],
            "-Xms64m",
            "-Xmx256m",
            *jvm[3:],
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            kafka_config.cluster_id(),
            "--config",
            str(paths.properties),
            *scram,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(
                f"formatting the secured broker failed:\n{result.stdout}{result.stderr}"
            )
    archive = kafka_jars.class_archive(settings)
    sharing = [f"-XX:SharedArchiveFile={archive}"] if archive.is_file() else []
    pid = kafka.detach(
        [*jvm, *sharing, "kafka.Kafka", str(paths.properties)], paths.console, paths.home
    )
    paths.pid.write_text(f"{pid}\n")
    return pid


async def start(settings: Settings, hub: ScramUser, users: Sequence[ScramUser]) -> int:
    """Start the secured broker and wait until the hub's user can describe the cluster."""
    pid = await asyncio.to_thread(launch, settings, hub, users)
    paths = kafka_config.KafkaPaths.of(settings)
    admin_settings = client_settings(settings, hub)
    deadline = time.monotonic() + settings.service_start_timeout
    while time.monotonic() < deadline:
        require_alive(pid, "Kafka (secured)", paths.log)
        if await _answers(admin_settings):
            return pid
        await asyncio.sleep(0.25)
    raise ServiceError(
        f"the secured broker did not answer; the end of {paths.log}:\n{log_tail(paths.log)}"
    )


async def _answers(settings: Settings) -> bool:
    host, _, port = settings.bootstrap_servers.rpartition(":")
    if not await asyncio.to_thread(port_open, host, int(port)):
        return False
    admin = AIOKafkaAdminClient(request_timeout_ms=5000, **settings.kafka_client_options())
    try:
        async with asyncio.timeout(10):
            await admin.start()
            cluster = await admin.describe_cluster()
    except Exception:  # still starting: any failure means "not yet"
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))


async def create_acls(settings: Settings, acls: Sequence[Acl]) -> None:
    """Create ``acls`` (as the signed-in super user); raises ServiceError naming a refusal."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()
    try:
        for acl in acls:
            request = CreateAclsRequest(
                acl.resource,
                acl.name,
                3,
                acl.principal,
                "*",
                acl.operation,
                3,  # literal, allow
            )
            response = await admin._send_request(request)  # aiokafka has no public ACL API
            for code, message in response.creation_responses:
                if code:
                    raise ServiceError(f"creating {acl} failed: error {code} {message}")
    finally:
        await admin.close()
