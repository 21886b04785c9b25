"""The parts of the gateway's OpenAPI document that FastAPI cannot infer: bodies and problems.

Request bodies are read raw (to bound their size and to answer with our own
problem documents), so their schemas are declared here, built from the same
``schemas`` models the gateway validates with.
"""

from __future__ import annotations

from typing import Any, Final

from producers.gateway.problems import MEDIA_TYPE, PROBLEM_SCHEMA
from producers.inputs import RETRACTION_FIELDS, SIMPLE_FIELDS
from schemas import INBOUND_ADAPTER
from schemas.ids import EVENT_ID_PATTERN, UUID_PATTERN

REF: Final = "#/components/schemas/{model}"

_STATUS_TEXT: Final = {
    400: "The body is not JSON.",
    401: "Unknown or revoked API key.",
    403: "An event's source is not yours, or its type is not one a publisher may send.",
    408: "The body did not arrive within the time allowed (`RPS_HTTP_BODY_TIMEOUT_SECONDS`).",
    413: "The body is larger than the gateway accepts.",
    415: "The body is not JSON.",
    422: "An event breaks the contract; `errors` lists each field and rule.",
    503: "Kafka did not acknowledge in time; retry after `Retry-After` seconds with the same id.",
}


def request_body(ref: str) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON request body of the component ``ref``."""
    schema = {"$ref": ref}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/cloudevents+json": {"schema": schema},
            },
        }
    }


def problem_responses() -> dict[int | str, dict[str, Any]]:
    """The problem responses every publishing route may give."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status, text in _STATUS_TEXT.items():
        response: dict[str, Any] = {
            "description": text,
            "content": {MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
        }
        if status == 503:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer"},
                }
            }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
            }
        responses[status] = response
    return responses


def component_schemas() -> dict[str, Any]:
    """Schemas for the request bodies and problems, keyed by component name."""
    inbound = INBOUND_ADAPTER.json_schema(ref_template=REF)
    components: dict[str, Any] = dict(inbound.pop("$defs"))
    components["InboundEvent"] = {
        "description": "A CloudEvent (structured JSON mode) of a type a publisher may send.",
        **inbound,
    }
    components["SimpleAttribute"] = _simple_attribute()
    components["PublishRequest"] = {
        "description": "One event: a CloudEvent, or the simple form of a verified attribute.",
        "oneOf": [
            {"$ref": REF.format(model="InboundEvent")},
            {"$ref": REF.format(model="SimpleAttribute")},
        ],
    }
    components["PublishBatchRequest"] = {
        "description": "A batch of events, each in either form.",
        "type": "array",
        "minItems": 1,
        "items": {"$ref": REF.format(model="PublishRequest")},
    }
    components["RetractionRequest"] = _retraction()
    components["Problem"] = PROBLEM_SCHEMA
    return dict(sorted(components.items()))


def _simple_attribute() -> dict[str, Any]:
    return {
        "description": (
            "A verified attribute without the envelope: the gateway fills `id` (unless given), "
            "`time`, `type` and `source` (your key's source). `value` has the attribute's type, "
            "as in the matching claim schema (AddressClaim, EmailClaim...)."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": list(SIMPLE_FIELDS),
        "properties": {
            "id": _event_id(),
            "resident": {"type": "string", "pattern": UUID_PATTERN},
            "attribute": {"$ref": REF.format(model="AttributeName")},
            "value": {"description": "The typed value of the attribute."},
            "assurance": {"$ref": REF.format(model="AssuranceLevel")},
            "method": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
            "verified_at": {"type": "string", "format": "date-time"},
        },
    }


def _retraction() -> dict[str, Any]:
    return {
        "description": "Retract one of your own earlier attribute.verified events by its id.",
        "type": "object",
        "additionalProperties": False,
        "required": list(RETRACTION_FIELDS),
        "properties": {
            "id": _event_id(),
            "resident": {"type": "string", "pattern": UUID_PATTERN},
            "claim_id": _event_id(),
            "attribute": {"$ref": REF.format(model="AttributeName")},
            "reason": {"$ref": REF.format(model="RetractionReason")},
        },
    }


def _event_id() -> dict[str, Any]:
    return {"type": "string", "pattern": EVENT_ID_PATTERN, "maxLength": 128}
