"""What the AsyncAPI document says about Kafka itself: record keys, headers, topic settings,
servers and security schemes.

Each topic's key is written by one piece of code (``producers.keys`` for what
publishers send, the worker's codec for deliveries and audit records, the
reference subscriber for acknowledgements); the key schemas here say the same,
and a test calls that code and checks its keys against these schemas. Topic
settings are the defaults ``rps topics create`` applies (``RPS_PARTITIONS``,
``RPS_REPLICATION_FACTOR``, ``RPS_RECORDS_RETENTION_MS``, ``RPS_INBOUND_RETENTION_MS``,
``RPS_DEFAULT_RETENTION_MS``); a test checks them against ``infra.topics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from schemas._envelope import SUBJECT_PATTERN
from schemas.attributes import AttributeName
from schemas.binding import EXTENSION_NAME_PATTERN, STRUCTURED_CONTENT_TYPE
from schemas.ids import AUTHORITY_PATTERN, UUID_PATTERN
from schemas.topics import Topics, TopicSpec

KAFKA_BINDING: Final = "0.5.0"
"""The AsyncAPI Kafka bindings version the document uses."""

_ATTRIBUTES: Final = "|".join(sorted(name.value for name in AttributeName))
SUBSCRIPTION_KEY_PATTERN: Final = (
    f"^{AUTHORITY_PATTERN.removeprefix('^').removesuffix('$')}\\|({_ATTRIBUTES})$"
)
"""``<authority>|<attribute>``: the subscriptions topic is compacted per (authority, attribute)."""

KEYS: Final[dict[str, dict[str, Any]]] = {
    "resident": {
        "type": "string",
        "pattern": UUID_PATTERN,
        "description": "The resident's opaque hub id (UTF-8), the same as the event's subject.",
    },
    "subscription": {
        "type": "string",
        "pattern": SUBSCRIPTION_KEY_PATTERN,
        "description": "'<authority>|<attribute>' (UTF-8), e.g. 'E08000015|address'. The topic "
        "is compacted, so the key must keep the latest change for each (authority, attribute) "
        "pair; an authority keyed alone would keep one subscription only.",
        "examples": ["E08000015|address", "urn:org:dwp|date_of_death"],
    },
    "pseudonym": {
        "type": "string",
        "pattern": UUID_PATTERN,
        "description": "The authority's pairwise pseudonym for the resident (UTF-8): the subject.",
    },
    "audit": {
        "type": "string",
        "pattern": SUBJECT_PATTERN,
        "description": "The resident's hub id, or the authority id for subscription decisions "
        "(UTF-8): the subject.",
    },
    "registry": {
        "type": "string",
        "pattern": r"^urn:(gss:[EWSN][0-9]{8}|org:[a-z0-9][a-z0-9-]{0,62})"
        r"(\|urn:(gss:[EWSN][0-9]{8}|org:[a-z0-9][a-z0-9-]{0,62})#[A-Za-z0-9._-]{1,64})?$",
        "description": "A publisher's source for its role record, or '<source>|<key id>' for "
        "one of its signing keys (UTF-8). The topic is compacted and never tombstoned, so "
        "every key's record, revoked ones included, stays for replay.",
        "examples": ["urn:gss:E08000012", "urn:gss:E08000012|urn:gss:E08000012#2026-12a"],
    },
    "original": {
        "type": "string",
        "description": "The original record's key, byte for byte (absent when it had none, and "
        "not necessarily UTF-8: the record could not be processed).",
    },
}
"""The key schema of each kind of key, by name."""

_HUB_HEADERS: Final = {
    "type": "object",
    "required": ["content-type"],
    "properties": {
        "content-type": {
            "const": STRUCTURED_CONTENT_TYPE,
            "description": "CloudEvents Kafka binding, structured mode: the value is the whole "
            "event.",
        }
    },
}

_INBOUND_HEADERS: Final = {
    "type": "object",
    "properties": {
        "content-type": {
            "type": "string",
            "description": "'application/cloudevents+json; charset=utf-8' for structured mode "
            "(recommended; a record with no content-type and no ce_specversion is read as "
            "structured too), or the data's type, 'application/json' (optionally with "
            "'; charset=utf-8'), for binary mode.",
        },
    },
    "patternProperties": {
        "^ce_" + EXTENSION_NAME_PATTERN.removeprefix("^"): {
            "type": "string",
            "description": "Binary mode: one CloudEvents attribute per header (ce_specversion, "
            "ce_id, ce_source, ce_type, ce_subject, ce_time; extensions such as "
            "ce_traceparent are accepted and ignored), the data as the value.",
        }
    },
}

_DEAD_LETTER_HEADERS: Final = {
    "type": "object",
    "required": ["rps.dlq.reason", "rps.dlq.topic", "rps.dlq.partition", "rps.dlq.offset"],
    "properties": {
        "rps.dlq.reason": {
            "type": "string",
            "description": "Why: a reason code, and for invalid events 'rule:field'.",
        },
        "rps.dlq.topic": {"type": "string", "description": "The topic the record came from."},
        "rps.dlq.partition": {"type": "string", "pattern": "^[0-9]+$"},
        "rps.dlq.offset": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "description": "The original record's headers as they came (a structured or binary mode "
    "content-type, ce_* headers, or none), then these.",
}

HEADERS: Final[dict[str, dict[str, Any]]] = {
    "hub": _HUB_HEADERS,
    "inbound": _INBOUND_HEADERS,
    "deadletter": _DEAD_LETTER_HEADERS,
}
"""The headers schema of records the hub writes, records it reads, and dead letters."""


@dataclass(frozen=True, slots=True)
class TopicDefaults:
    """The topic settings ``rps topics create`` uses unless told otherwise."""

    partitions: int = 4
    replicas: int = 1
    records_retention_ms: int = -1
    inbound_retention_ms: int = 7 * 24 * 3600 * 1000
    default_retention_ms: int = 30 * 24 * 3600 * 1000


def records_topics(topics: Topics) -> frozenset[str]:
    """The topics kept as records (for ever by default): replay and audit read them whole."""
    return frozenset({topics.facts, topics.audit})


def inbound_topics(topics: Topics) -> frozenset[str]:
    """The topics that hold what arrived in plain text (and the dead letters): kept a week."""
    return frozenset(topics.passing)


def topic_binding(
    topics: Topics, spec: TopicSpec, defaults: TopicDefaults = TopicDefaults()
) -> dict[str, Any]:
    """The Kafka channel binding of one topic: name, partitions, replicas, clean-up, retention."""
    configuration: dict[str, Any] = {"cleanup.policy": [spec.cleanup]}
    if spec.cleanup == "delete":
        if spec.name in records_topics(topics):
            configuration["retention.ms"] = defaults.records_retention_ms
        elif spec.name in inbound_topics(topics):
            configuration["retention.ms"] = defaults.inbound_retention_ms
        else:
            configuration["retention.ms"] = defaults.default_retention_ms
    return {
        "topic": spec.name,
        "partitions": defaults.partitions,
        "replicas": defaults.replicas,
        "topicConfiguration": configuration,
        "bindingVersion": KAFKA_BINDING,
    }


def servers() -> dict[str, Any]:
    """The local development broker and a production cluster (TLS, SASL or client certificates)."""
    return {
        "local": {
            "host": "127.0.0.1:9092",
            "protocol": "kafka",
            "description": "The broker `rps infra up` starts for development and tests "
            "(PLAINTEXT, no authentication).",
        },
        "production": {
            "host": "{bootstrap}",
            "protocol": "kafka-secure",
            "description": "A production cluster over TLS (RPS_SECURITY_PROTOCOL=SASL_SSL or SSL, "
            "RPS_SSL_CAFILE): SASL with SCRAM or PLAIN (RPS_SASL_MECHANISM, RPS_SASL_USERNAME, "
            "RPS_SASL_PASSWORD), or client certificates (RPS_SSL_CERTFILE, RPS_SSL_KEYFILE). "
            "Kafka ACLs fence each authority to its own delivery topic.",
            "variables": {
                "bootstrap": {
                    "description": "The bootstrap servers (RPS_BOOTSTRAP_SERVERS).",
                    "examples": ["kafka-1.example.gov.uk:9093"],
                }
            },
            "security": [
                {"$ref": f"#/components/securitySchemes/{name}"} for name in SECURITY_SCHEMES
            ],
        },
    }


SECURITY_SCHEMES: Final[dict[str, dict[str, str]]] = {
    "saslScramSha512": {
        "type": "scramSha512",
        "description": "SASL/SCRAM-SHA-512 over TLS (RPS_SASL_MECHANISM=SCRAM-SHA-512).",
    },
    "saslScramSha256": {
        "type": "scramSha256",
        "description": "SASL/SCRAM-SHA-256 over TLS (RPS_SASL_MECHANISM=SCRAM-SHA-256).",
    },
    "saslPlain": {
        "type": "plain",
        "description": "SASL/PLAIN over TLS (RPS_SASL_MECHANISM=PLAIN).",
    },
    "mutualTls": {
        "type": "X509",
        "description": "TLS client certificates (RPS_SECURITY_PROTOCOL=SSL, RPS_SSL_CERTFILE, "
        "RPS_SSL_KEYFILE).",
    },
}
"""The ways a client may authenticate to a production cluster, as the settings allow."""
