"""The AsyncAPI 3.0 document: the hub's topics, their keys, headers and settings, their
messages, who sends them, and the servers and security a client connects with.

The document describes the hub as the application: it *receives* on the
inbound topics (publishers, residents and authorities send there) and *sends*
on each authority's delivery topic and on the audit, control, facts and
dead-letter topics. Payload schemas are the models' JSON Schemas, gathered under
``components/schemas`` with references rewritten to point there; the Kafka
facts (keys, headers, topic settings, servers, security) come from
:mod:`schemas.contracts._kafka`.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from pydantic.json_schema import models_json_schema

from schemas.binding import STRUCTURED_CONTENT_TYPE
from schemas.contracts._hub_channels import hub_only
from schemas.contracts._kafka import (
    HEADERS,
    KAFKA_BINDING,
    KEYS,
    SECURITY_SCHEMES,
    servers,
    topic_binding,
)
from schemas.events import MODELS
from schemas.samples import example_lines
from schemas.topics import Topics, TopicSpec
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
_CE_JSON: Final = "application/cloudevents+json"

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
            "subscription",
            (SUBSCRIPTION_CHANGED,),
            "receive",
            "Which attributes each authority wants and at what minimum assurance. Compacted, "
            "keyed '<authority>|<attribute>' so compaction keeps every (authority, attribute) "
            "pair's latest change; authorities send, every hub worker reads it whole.",
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
    specs = {spec.name: spec for spec in topics.fixed()}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel_id, (address, key, types, action, description) in _channels(topics).items():
        refs = {}
        for event_type in types:
            name = _message_name(event_type)
            messages[name] = _message(event_type, key, "hub" if action == "send" else "inbound")
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        spec = specs.get(address) or TopicSpec(address, "delete", False, description)
        channels[channel_id] = _channel(topics, spec, description, refs)
        if "{authority}" in address:
            channels[channel_id]["parameters"] = {
                "authority": {
                    "description": "The authority's topic slug: its GSS code (E08000012), or "
                    "org.<name> for urn:org:<name> (org.dwp).",
                    "examples": ["E08000012", "E08000015", "org.dwp"],
                }
            }
        operations[f"{action}{channel_id.title()}"] = _operation(channel_id, action, address, refs)
    for channel_id, spec, sent, description in hub_only(topics, specs):
        refs = {}
        for message in sent if isinstance(sent, list) else [sent]:
            name = str(message["name"])
            messages[name] = message
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = _channel(topics, spec, description, refs)
        both = channel_id in ("control", "facts", "publishers")
        for action in ("send", "receive") if both else ("send",):
            operations[f"{action}{channel_id.title()}"] = _operation(
                channel_id, action, spec.name, refs
            )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Resident Profile Sync",
            "version": "1.0.0",
            "description": "Tell us once for UK local government. Every message is a CloudEvents "
            "1.0 event. The hub writes every record in the Kafka binding's structured mode, "
            "with the header 'content-type: application/cloudevents+json; charset=utf-8'; on "
            "input it accepts structured and binary mode (ce_* headers), and accepts and "
            "ignores the optional attributes and extensions it does not use. Topic names use "
            "the default prefix 'rps'; topic settings are the defaults 'rps topics create' "
            "applies (RPS_PARTITIONS, RPS_REPLICATION_FACTOR, RPS_*_RETENTION_MS). The "
            "worker's own table changelogs are not part of the contract.",
        },
        "defaultContentType": _CE_JSON,
        "servers": servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": _component_schemas(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _channel(
    topics: Topics, spec: TopicSpec, description: str, refs: dict[str, Any]
) -> dict[str, Any]:
    return {
        "address": spec.name,
        "description": description,
        "messages": refs,
        "bindings": {"kafka": topic_binding(topics, spec)},
    }


def _operation(channel_id: str, action: str, address: str, refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "summary": f"The hub {action}s on {address}.",
        "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in refs],
    }


def _message_name(event_type: str) -> str:
    head, verb, _version = event_type.removeprefix("uk.gov.rps.").split(".")
    return head + verb.title()


def _message(event_type: str, key: str, headers: str) -> dict[str, Any]:
    model = MODELS[event_type]
    examples = [
        {"name": f"example{index}", "payload": orjson.loads(line)}
        for index, line in enumerate(example_lines(event_type)[:2], start=1)
    ]
    if headers == "hub":
        examples = [
            {**example, "headers": {"content-type": STRUCTURED_CONTENT_TYPE}}
            for example in examples
        ]
    return {
        "name": event_type,
        "title": event_type,
        "summary": (model.__doc__ or event_type).strip().splitlines()[0],
        "contentType": _CE_JSON,
        "headers": HEADERS[headers],
        "payload": {"$ref": f"{_COMPONENTS}{model.__name__}"},
        "bindings": {"kafka": {"key": KEYS[key], "bindingVersion": KAFKA_BINDING}},
        "examples": examples,
    }


def _component_schemas() -> dict[str, Any]:
    """Every model's JSON Schema in AsyncAPI's dialect, references into ``components/schemas``."""
    _, top = models_json_schema(
        [(model, "validation") for model in MODELS.values()], ref_template=_COMPONENTS + "{model}"
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
