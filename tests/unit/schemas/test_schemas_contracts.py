"""The checked-in contracts: current with the models, valid AsyncAPI 3.0, true to the examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from schemas import EVENT_TYPES, InvalidEvent, check
from schemas.contracts import ASYNCAPI_FILE, CONTRACTS_DIR, JSON_SCHEMA_DIR, generate, write
from schemas.contracts import check as drifted
from schemas.samples import BROKEN_EXAMPLES, example_lines

VENDOR = Path(__file__).parent / "vendor"


def load(relative: str) -> Any:
    return json.loads((CONTRACTS_DIR / relative).read_text(encoding="utf-8"))


def schema_validator(event_type: str) -> jsonschema.Draft202012Validator:
    schema = load(f"{JSON_SCHEMA_DIR}/{event_type}.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_checked_in_contracts_are_what_the_models_generate() -> None:
    """The JSON Schemas and AsyncAPI document in the repository match the models byte for byte."""
    assert drifted() == [], "run `rps contracts generate` and commit the result"
    assert len(generate()) == len(EVENT_TYPES) + 1


def test_drift_is_detected_and_repaired(tmp_path: Path) -> None:
    """A changed, missing or stale contract file is named by check and fixed by write."""
    assert write(tmp_path) == sorted(generate())
    assert drifted(tmp_path) == []
    (tmp_path / ASYNCAPI_FILE).write_text("{}\n")
    (tmp_path / JSON_SCHEMA_DIR / "uk.gov.rps.attribute.verified.v1.json").unlink()
    (tmp_path / JSON_SCHEMA_DIR / "uk.gov.rps.old.v0.json").write_text("{}\n")
    expected = [
        ASYNCAPI_FILE,
        f"{JSON_SCHEMA_DIR}/uk.gov.rps.attribute.verified.v1.json",
        f"{JSON_SCHEMA_DIR}/uk.gov.rps.old.v0.json",
    ]
    assert drifted(tmp_path) == expected
    assert write(tmp_path) == expected
    assert drifted(tmp_path) == []


def test_generation_is_deterministic() -> None:
    """Two generations give identical text with sorted keys and a trailing newline."""
    first, second = generate(), generate()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert (
            json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            == text
        )


def test_asyncapi_document_is_valid_against_the_official_asyncapi_3_schema() -> None:
    """The AsyncAPI document satisfies the AsyncAPI 3.0.0 JSON Schema from @asyncapi/specs."""
    meta = json.loads((VENDOR / "asyncapi-3.0.0.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(meta)
    document = load(ASYNCAPI_FILE)
    assert [error.message for error in validator.iter_errors(document)] == []
    broken = json.loads(json.dumps(document))
    broken["operations"]["receiveAttributes"]["action"] = "publish"
    assert not validator.is_valid(broken)


def test_asyncapi_describes_every_topic_key_message_and_direction() -> None:
    """Each topic appears with its address, key schema, messages and the hub's action on it."""
    document = load(ASYNCAPI_FILE)
    channels = document["channels"]
    assert channels["attributes"]["address"] == "rps.attributes.v1"
    assert channels["deliveries"]["address"] == "rps.deliveries.{authority}.v1"
    assert "authority" in channels["deliveries"]["parameters"]
    assert {
        "consents",
        "subscriptions",
        "acknowledgements",
        "audit",
        "facts",
        "deadletter",
        "publishers",
    } <= set(channels)
    names = {message["name"] for message in document["components"]["messages"].values()}
    registry = {"publisherRegistered", "keyRecorded"}
    hub_only = {"controlReevaluate", "factLogged", "deadLetter"}
    assert names == set(EVENT_TYPES) | hub_only | registry
    for message in document["components"]["messages"].values():
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
    actions = {
        operation["channel"]["$ref"]: operation["action"]
        for operation in document["operations"].values()
    }
    assert actions["#/channels/attributes"] == "receive"
    assert actions["#/channels/deliveries"] == "send"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_examples_satisfy_their_json_schema_with_a_json_schema_library(event_type: str) -> None:
    """Every example event validates against its checked-in JSON Schema under ``jsonschema``."""
    validator = schema_validator(event_type)
    lines = example_lines(event_type)
    assert lines
    for line in lines:
        assert [error.message for error in validator.iter_errors(orjson.loads(line))] == []


def test_every_broken_example_is_refused_with_one_clear_error() -> None:
    """Each line of the broken-events file is refused, each with its own rule."""
    rules = []
    for line in BROKEN_EXAMPLES.read_bytes().splitlines():
        result = check(line)
        assert isinstance(result, InvalidEvent)
        assert len(result.errors) == 1
        rules.append(result.errors[0].rule)
    assert {"postcode_format", "uprn_format", "unknown_attribute", "unknown_type", "required",
            "not_in_future", "extra_field", "death_before_birth", "phone_format", "email_format",
            "not_json"} <= set(rules)  # fmt: skip


def test_json_schema_refuses_the_structurally_broken_examples() -> None:
    """Where a rule is structural (pattern, type, enum, required, extra), the JSON Schema agrees."""
    refused = 0
    for line in BROKEN_EXAMPLES.read_bytes().splitlines():
        result = check(line)
        assert isinstance(result, InvalidEvent)
        if result.errors[0].rule in {
            "not_in_future",
            "death_before_birth",
            "not_json",
            "unknown_type",
        }:
            continue
        document = orjson.loads(line)
        assert not schema_validator(document["type"]).is_valid(document)
        refused += 1
    assert refused >= 8
