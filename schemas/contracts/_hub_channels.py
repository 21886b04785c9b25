"""The AsyncAPI channels only the hub writes that carry no product event: the publisher
registry, control instructions, the facts log and dead letters (their messages are plain JSON
documents, not the models of :mod:`schemas.events`)."""

from __future__ import annotations

from typing import Any, Final

from schemas.contracts._inline import inlined
from schemas.contracts._kafka import HEADERS, KAFKA_BINDING, KEYS
from schemas.ids import HUB_SOURCE, UUID_PATTERN
from schemas.registry import KeyRecorded, PublisherRegistered
from schemas.topics import Topics, TopicSpec

CONTROL_TYPE: Final = "uk.gov.rps.control.reevaluate.v1"
ERASE_TYPE: Final = "uk.gov.rps.control.erase.v1"
FACT_RECORDED_TYPE: Final = "uk.gov.rps.fact.recorded.v1"
FACT_ERASED_TYPE: Final = "uk.gov.rps.fact.erased.v1"
_CE_JSON: Final = "application/cloudevents+json"

HubChannel = tuple[str, TopicSpec, dict[str, Any] | list[dict[str, Any]], str]
"""A hub-only channel: its id, topic, the message (or messages) sent on it, its description."""


def hub_only(topics: Topics, specs: dict[str, TopicSpec]) -> list[HubChannel]:
    """The channels only the hub writes that carry no product event: the publisher registry,
    control, the facts log and dead letters."""
    return [
        _publishers_channel(specs[topics.publishers]),
        _control_channel(specs[topics.control]),
        _facts_channel(specs[topics.facts]),
        _dead_letter_channel(specs[topics.deadletter]),
    ]


def _publishers_channel(spec: TopicSpec) -> HubChannel:
    """The publisher registry: plain JSON records of roles and signing keys."""
    registry = [
        {
            "name": name,
            "title": model.__name__,
            "summary": summary,
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "description": "None: a registry record is plain JSON, not a CloudEvent.",
            },
            "payload": inlined(model.model_json_schema()),
            "bindings": {"kafka": {"key": KEYS["registry"], "bindingVersion": KAFKA_BINDING}},
        }
        for name, model, summary in (
            ("publisherRegistered", PublisherRegistered, "A source's role, set once."),
            ("keyRecorded", KeyRecorded, "A signing key: valid from added_at until revoked_at."),
        )
    ]
    return (
        "publishers",
        spec,
        registry,
        "The publisher registry: each source's role and public signing keys (plain JSON, "
        "not CloudEvents). Operators send with 'rps publishers'; every worker, the gateway "
        "and replay read it whole. See docs/trust.md.",
    )


def _control_channel(spec: TopicSpec) -> HubChannel:
    """The workers' re-evaluation requests, keyed by resident."""
    control = {
        "name": "controlReevaluate",
        "title": CONTROL_TYPE,
        "summary": "A worker asks the resident's partition to decide again (consent expiry, a "
        "new subscription's backfill); or an operator's 'rps erase' asks it to erase the "
        "resident (type uk.gov.rps.control.erase.v1, reason the erasure's reason code).",
        "contentType": _CE_JSON,
        "headers": HEADERS["hub"],
        "payload": {
            "type": "object",
            "required": ["specversion", "id", "source", "type", "subject", "reason"],
            "properties": {
                "specversion": {"const": "1.0"},
                "id": {"type": "string"},
                "source": {"const": HUB_SOURCE},
                "type": {"enum": [CONTROL_TYPE, ERASE_TYPE]},
                "subject": {"type": "string", "pattern": UUID_PATTERN},
                "reason": {
                    "type": "string",
                    "description": "Why (a CloudEvents extension): expiry, backfill..., or "
                    "the erasure's reason code.",
                },
            },
        },
        "bindings": {"kafka": {"key": KEYS["resident"], "bindingVersion": KAFKA_BINDING}},
    }
    return (
        "control",
        spec,
        control,
        "The workers' own instructions, keyed by resident and co-partitioned with the "
        "attributes and consents. Internal: the hub sends and receives.",
    )


def _facts_channel(spec: TopicSpec) -> HubChannel:
    """The worker's retained log of decided inbound records, sealed, keyed by resident."""
    envelope = {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "description": "The id of the input decided."},
        "source": {"const": HUB_SOURCE},
        "type": {"enum": [FACT_RECORDED_TYPE, FACT_ERASED_TYPE]},
        "subject": {"type": "string", "pattern": UUID_PATTERN},
        "time": {"type": "string", "format": "date-time", "description": "When decided."},
        "rpstopic": {"type": "string", "description": "The topic the input was read from."},
        "rpsrecordtime": {
            "type": "integer",
            "description": "The input record's broker timestamp (ms since the epoch), at "
            "which replay judges it again against the publisher registry.",
        },
    }
    fact = {
        "name": "factLogged",
        "title": FACT_RECORDED_TYPE,
        "summary": "An inbound record the worker decided and folded (a claim, retraction, "
        "consent or withdrawal) or refused for its origin or its publisher's role, its value "
        "and headers sealed under the resident's data key (AES-256-GCM, bound to the "
        "resident and the id); or an erasure "
        f"({FACT_ERASED_TYPE}, data: the reason code), which holds no personal data and is "
        "not sealed.",
        "contentType": _CE_JSON,
        "headers": HEADERS["hub"],
        "payload": {
            "type": "object",
            "required": [*envelope, "data"],
            "properties": {
                **envelope,
                "data": {
                    "type": "object",
                    "properties": {
                        "sealed": {
                            "type": "string",
                            "pattern": r"^s1\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
                            "description": "The original record's value and headers, sealed "
                            "(docs/data-lifecycle.md).",
                        },
                        "reason": {"type": "string", "description": "An erasure's reason code."},
                    },
                },
            },
        },
        "bindings": {"kafka": {"key": KEYS["resident"], "bindingVersion": KAFKA_BINDING}},
    }
    return (
        "facts",
        spec,
        fact,
        "Every inbound record the worker folded or refused for its origin, sealed under its "
        "resident's data key, and every erasure; retained, co-partitioned with the inbound "
        "topics, and what replay reads. Erasing a resident forgets the key, so its records "
        "never open again. Internal: the hub sends and reads it.",
    )


def _dead_letter_channel(spec: TopicSpec) -> HubChannel:
    """Records the hub could not process, kept byte for byte."""
    dead_letter = {
        "name": "deadLetter",
        "title": "Dead letter",
        "summary": "A record the hub could not process, kept as it came, with why and where.",
        "contentType": "application/octet-stream",
        "headers": HEADERS["deadletter"],
        "payload": {"description": "The original record's value, byte for byte (or none)."},
        "bindings": {"kafka": {"key": KEYS["original"], "bindingVersion": KAFKA_BINDING}},
    }
    return (
        "deadletter",
        spec,
        dead_letter,
        "Anything the hub could not process: the original key, value and headers, with "
        "the source topic, partition, offset and the reason in headers. The hub sends.",
    )
