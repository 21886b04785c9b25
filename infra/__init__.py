"""How Kafka and PostgreSQL are fetched, configured and started, locally and for production.

Public names: ``up``, ``down``, ``status`` (the local services), ``ensure_topics``
and ``ensure_delivery_topic`` (topic administration against any cluster),
``local_url`` (the local PostgreSQL's URL), ``kafka_version`` (the one pin), and
the error hierarchy rooted at ``InfraError`` (drawn in ``infra.errors``).
"""

from infra.errors import (
    InfraError,
    MissingToolError,
    PortInUseError,
    ServiceError,
    TopicLayoutError,
)
from infra.kafka import kafka_version
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
