"""How Kafka and PostgreSQL are fetched, configured and started, locally and for production.

Public names: ``up``, ``down``, ``status`` (the local services), ``ensure_topics``
and ``ensure_delivery_topic`` (topic administration against any cluster),
``local_url`` (the local PostgreSQL's URL), ``kafka_version`` (the one pin), and
the error hierarchy rooted at ``InfraError`` (drawn in ``infra.errors``).

Modules: ``services`` (up, down and status of both services), ``kafka`` (the
local broker's lifecycle), ``kafka_jars`` (version pin, Java, Maven classpath),
``kafka_config`` (its files, configuration and storage format), ``secured`` (a
broker with SASL/SCRAM and per-topic ACLs, as the ACL tests run it), ``postgres`` (the
local cluster), ``postgres_binaries`` (finding or installing PostgreSQL), and
``topics`` (topic administration).
"""

from infra.errors import (
    InfraError,
    MissingToolError,
    PortInUseError,
    ServiceError,
    TopicLayoutError,
)
from infra.kafka_jars import kafka_version
from infra.postgres import local_url
from infra.services import Service, Up, down, status, up
from infra.topics import TopicState, ensure_delivery_topic, ensure_specs, ensure_topics

__all__ = [
    "InfraError",
    "MissingToolError",
    "PortInUseError",
    "Service",
    "ServiceError",
    "TopicLayoutError",
    "TopicState",
    "Up",
    "down",
    "ensure_delivery_topic",
    "ensure_specs",
    "ensure_topics",
    "kafka_version",
    "local_url",
    "status",
    "up",
]
