"""The AsyncAPI 3.0 document: the hub's topics, their keys, their messages and who sends them.

The document describes the hub as the application: it *receives* on the
inbound topics (publishers, residents and authorities send there) and *sends*
on each authority's delivery topic and on the audit and dead-letter topics.
Payload schemas are the models' JSON Schemas, gathered under
``components/schemas`` with references rewritten to point there.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from pydantic.json_schema import models_json_schema

from schemas.events import MODELS
from schemas.ids import AUTHORITY_PATTERN, UUID_PATTERN
from schemas.registry import KeyRecorded, PublisherRegistered
from schemas.samples import example_lines
from schemas.topics import Topics
from schemas.types import (
    ATTRIBUTE_RETRACTED,
    ATTRIBUTE_VERIFIED,
    AUDIT_RECORDED,
    CONSENT_ENDED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    DELIVERY_APPLIED,
    PROFILE_UPDATED,
    SUBSCRIPTION_CHANGED,
)

_DEFS: Final = "#/$defs/"
_COMPONENTS: Final = "#/components/schemas/"
_KAFKA_BINDING: Final = "0.5.0"

_KEYS: Final = {
    "resident": {
        "type": "string",
        "pattern": UUID_PATTERN,
        "description": "The resident's opaque hub id (UTF-8), the same as the event's subject.",
    },
    "authority": {
        "type": "string",
        "pattern": AUTHORITY_PATTERN,
        "description": "The authority id (UTF-8), the same as the event's subject.",
    },
    "pseudonym": {
        "type": "string",
        "pattern": UUID_PATTERN,
        "description": "The authority's pairwise pseudonym for the resident (UTF-8): the subject.",
    },
    "audit": {
        "type": "string",
        "description": "The resident's hub id, or the authority id for subscription decisions.",
    },
}

# channel id -> (address, key kind, message types, action of the hub, description)
_Channel = tuple[str, str, tuple[str, ...], str, str]


def _channels(topics: Topics) -> dict[str, _Channel]:
    deliveries = f"{topics.prefix}.deliveries.{{authority}}.v1"
    return {
        "attributes": (
            topics.attributes,
            "resident",
            (ATTRIBUTE_VERIFIED, ATTRIBUTE_RETRACTED),
            "receive",
            "Verified attributes and their retractions; the system of record. Publishers "
            "(councils, DWP, DVLA, registrars, the resident app) send, the hub receives.",
        ),
        "consents": (
            topics.consents,
            "resident",
            (CONSENT_GRANTED, CONSENT_WITHDRAWN),
            "receive",
            "Consent granted and withdrawn, co-partitioned with attributes. The resident app "
            "sends, the hub receives; last writer (time, id) wins per resident and authority.",
        ),
        "subscriptions": (
            topics.subscriptions,
            "authority",
            (SUBSCRIPTION_CHANGED,),
            "receive",
            "Which attributes each authority wants and at what minimum assurance. Compacted; "
            "authorities send, every hub worker reads it whole.",
        ),
        "deliveries": (
            deliveries,
            "pseudonym",
            (PROFILE_UPDATED, CONSENT_ENDED),
            "send",
            "One topic per authority, fenced by Kafka ACLs. The hub sends; the authority's "
            "subscriber receives and applies by decision id and version.",
        ),
        "acknowledgements": (
            topics.acknowledgements,
            "pseudonym",
            (DELIVERY_APPLIED,),
            "receive",
            "Subscribers acknowledge each delivery they applied. Authorities send, the hub "
            "receives.",
        ),
        "audit": (
            topics.audit,
            "audit",
            (AUDIT_RECORDED,),
            "send",
            "One record per decision (accepted, superseded, duplicate, delivered, withheld and "
            "why, rejected...). The hub sends; auditors replay it.",
        ),
    }


def asyncapi_document(topics: Topics | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for the topics of ``topics`` (prefix ``rps`` by default)."""
    topics = topics or Topics("rps")
    schemas = _component_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel_id, (address, key, types, action, description) in _channels(topics).items():
        refs = {}
        for event_type in types:
            name = _message_name(event_type)
            messages[name] = _message(event_type, key)
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = {
            "address": address,
            "description": description,
            "messages": refs,
            "bindings": {"kafka": {"topic": address, "bindingVersion": _KAFKA_BINDING}},
        }
        if "{authority}" in address:
            channels[channel_id]["parameters"] = {
                "authority": {
                    "description": "The authority's topic slug: its GSS code (E08000012), or "
                    "org.<name> for urn:org:<name> (org.dwp).",
                    "examples": ["E08000012", "E08000015", "org.dwp"],
                }
            }
        operations[f"{action}{channel_id.title()}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"The hub {action}s on {address}.",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in refs],
        }
    channels["deadletter"] = {
        "address": topics.deadletter,
        "description": "Anything the hub could not process: the original key, value and headers, "
        "with the source topic, partition, offset and the reason in headers. The hub sends.",
        "bindings": {"kafka": {"topic": topics.deadletter, "bindingVersion": _KAFKA_BINDING}},
    }
    channels["publishers"], messages_of_registry = _registry_channel(topics)
    messages |= messages_of_registry
    operations["receivePublishers"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/publishers"},
        "summary": f"Every hub worker and the gateway read {topics.publishers} whole.",
        "messages": [{"$ref": f"#/channels/publishers/messages/{n}"} for n in messages_of_registry],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Resident Profile Sync",
            "version": "1.0.0",
            "description": "Tell us once for UK local government. Every message is a CloudEvents "
            "1.0 event in structured JSON mode (the Kafka binary mode with ce_* headers is "
            "accepted on input too). Topic names use the default prefix 'rps'.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


_REGISTRY_KEY: Final = {
    "type": "string",
    "description": "The source (urn:gss:E08000012) for a registration, or '<source>|<key id>' "
    "for a key (UTF-8).",
}


def _registry_channel(topics: Topics) -> tuple[dict[str, Any], dict[str, Any]]:
    """The publisher registry topic (docs/trust.md): plain JSON records, not CloudEvents."""
    messages = {
        "publisherRegistered": _registry_message(PublisherRegistered, "A source and its role."),
        "keyRecorded": _registry_message(
            KeyRecorded, "One public key, valid from added_at until revoked_at."
        ),
    }
    channel = {
        "address": topics.publishers,
        "description": "The publisher registry: each source's role and its Ed25519 public keys, "
        "with validity by the broker's record time. Compacted, never tombstoned; only operators "
        "write it (rps publishers); workers, replay and the gateway read it whole.",
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
        "bindings": {"kafka": {"topic": topics.publishers, "bindingVersion": _KAFKA_BINDING}},
    }
    return channel, messages


def _registry_message(model: type[Any], summary: str) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "title": model.__name__,
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": f"{_COMPONENTS}{model.__name__}"},
        "bindings": {"kafka": {"key": _REGISTRY_KEY, "bindingVersion": _KAFKA_BINDING}},
    }


def _message_name(event_type: str) -> str:
    head, verb, _version = event_type.removeprefix("uk.gov.rps.").split(".")
    return head + verb.title()


def _message(event_type: str, key: str) -> dict[str, Any]:
    model = MODELS[event_type]
    examples = [
        {"name": f"example{index}", "payload": orjson.loads(line)}
        for index, line in enumerate(example_lines(event_type)[:2], start=1)
    ]
    return {
        "name": event_type,
        "title": event_type,
        "summary": (model.__doc__ or event_type).strip().splitlines()[0],
        "contentType": "application/cloudevents+json",
        "payload": {"$ref": f"{_COMPONENTS}{model.__name__}"},
        "bindings": {"kafka": {"key": _KEYS[key], "bindingVersion": _KAFKA_BINDING}},
        "examples": examples,
    }


def _component_schemas() -> dict[str, Any]:
    """Every model's JSON Schema in AsyncAPI's dialect, references into ``components/schemas``."""
    models = [*MODELS.values(), PublisherRegistered, KeyRecorded]
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template=_COMPONENTS + "{model}"
    )
    return {name: _asyncapi_dialect(schema) for name, schema in top.get("$defs", {}).items()}


def _asyncapi_dialect(node: Any) -> Any:
    """Point refs at components; turn OpenAPI-style discriminators into a property name."""
    if isinstance(node, list):
        return [_asyncapi_dialect(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_DEFS):
            converted[key] = _COMPONENTS + value.removeprefix(_DEFS)
        elif key == "discriminator" and isinstance(value, dict):
            converted[key] = value["propertyName"]
        else:
            converted[key] = _asyncapi_dialect(value)
    return converted
