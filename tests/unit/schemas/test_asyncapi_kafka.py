"""The AsyncAPI document tells the truth about Kafka: each channel's key is what the code that
writes the topic writes, the headers are the binding's, the topic settings are what
``rps topics create`` applies, and servers and security match the settings."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, get_args

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers._repository import PendingAck
from consumers._wire import acknowledgements
from infra.topics import topic_config
from producers.keys import key_for
from producers.routing import topic_for
from rps.settings import SaslMechanism, SecurityProtocol, Settings
from schemas import CONTENT_TYPE_HEADER, Event, to_binary
from schemas import strategies as events_st
from schemas.contracts import ASYNCAPI_FILE, CONTRACTS_DIR
from schemas.topics import Topics

DOCUMENT: dict[str, Any] = json.loads((CONTRACTS_DIR / ASYNCAPI_FILE).read_text("utf-8"))
TOPICS = Topics("rps")
SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


def channel_of(topic: str) -> str:
    """The id of the channel whose address is ``topic``."""
    found: list[str] = [name for name, c in DOCUMENT["channels"].items() if c["address"] == topic]
    (channel,) = found
    return channel


def messages_of(channel: str) -> list[dict[str, Any]]:
    refs = DOCUMENT["channels"][channel]["messages"].values()
    return [DOCUMENT["components"]["messages"][r["$ref"].rsplit("/", 1)[1]] for r in refs]


def key_schema(channel: str) -> dict[str, Any]:
    (schema,) = {json.dumps(m["bindings"]["kafka"]["key"]) for m in messages_of(channel)}
    loaded: dict[str, Any] = json.loads(schema)
    return loaded


def meets(schema: dict[str, Any], instance: Any) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


@SETTINGS
@given(events_st.inbound_events())
def test_every_publisher_key_meets_its_channels_key_schema(event: Event) -> None:
    """The key ``producers.keys`` writes for any inbound event meets the key schema of the
    channel ``producers.routing`` sends it to (subscriptions: ``authority|attribute``)."""
    channel = channel_of(topic_for(event, TOPICS))
    assert meets(key_schema(channel), key_for(event).decode())


def test_the_subscriptions_key_is_authority_and_attribute_not_authority_alone() -> None:
    """The compacted subscriptions topic is documented as keyed by ``authority|attribute``,
    so a publisher following the document keeps one subscription per pair."""
    schema = key_schema("subscriptions")
    assert meets(schema, "E08000015|address")
    assert meets(schema, "urn:org:dwp|date_of_death")
    assert not meets(schema, "E08000015")
    assert not meets(schema, "E08000015|colour")


def test_acknowledgement_keys_meet_their_channels_key_schema() -> None:
    """The reference subscriber's ``delivery.applied`` keys (the delivery's pseudonym) meet
    the acknowledgements channel's key schema."""
    now = dt.datetime.now(dt.UTC)
    pending = [PendingAck("dec-1", str(uuid.uuid4()), "WIR-1", now)]
    for key, _value in acknowledgements("E08000015", pending, now):
        assert meets(key_schema("acknowledgements"), key.decode())


@SETTINGS
@given(events_st.inbound_events())
def test_headers_of_either_input_mode_meet_the_inbound_headers_schema(event: Event) -> None:
    """A structured record's header and a binary record's ``ce_*`` headers both meet the headers
    schema of the channel the event goes to."""
    (message, *_) = messages_of(channel_of(topic_for(event, TOPICS)))
    _value, binary = to_binary(event)
    for headers in ([CONTENT_TYPE_HEADER], binary):
        assert meets(message["headers"], {name: raw.decode() for name, raw in headers})


def test_hub_messages_require_the_structured_content_type() -> None:
    """Every message on a channel the hub sends on requires the structured-mode header."""
    sent = {
        op["channel"]["$ref"].rsplit("/", 1)[1]
        for op in DOCUMENT["operations"].values()
        if op["action"] == "send"
    }
    assert {"deliveries", "audit", "control", "facts", "deadletter", "publishers"} == sent
    header = {CONTENT_TYPE_HEADER[0]: CONTENT_TYPE_HEADER[1].decode()}
    for channel in sent - {"deadletter", "publishers"}:  # original bytes; registry records
        for message in messages_of(channel):
            assert meets(message["headers"], header)
            assert not meets(message["headers"], {})
            assert not meets(message["headers"], {"content-type": "application/json"})


def test_topic_settings_are_what_topics_create_applies() -> None:
    """Each fixed topic's partitions, replicas, clean-up policy and retention in the document
    equal what ``infra.topics`` creates it with under default settings."""
    defaults = Settings.model_construct()
    for spec in TOPICS.fixed():
        binding = DOCUMENT["channels"][channel_of(spec.name)]["bindings"]["kafka"]
        assert binding["topic"] == spec.name
        assert binding["partitions"] == defaults.partitions
        assert binding["replicas"] == defaults.replication_factor
        created = topic_config(defaults, spec)
        documented = binding["topicConfiguration"]
        assert documented["cleanup.policy"] == [created["cleanup.policy"]]
        assert documented.get("retention.ms") == (
            int(created["retention.ms"]) if "retention.ms" in created else None
        )
    deliveries = DOCUMENT["channels"]["deliveries"]["bindings"]["kafka"]["topicConfiguration"]
    spec = TOPICS.delivery_spec("E08000015")
    assert deliveries["retention.ms"] == int(topic_config(defaults, spec)["retention.ms"])


def test_servers_and_security_cover_what_the_settings_allow() -> None:
    """A local plaintext server and a TLS production server offering every SASL mechanism the
    settings accept, and client certificates."""
    servers = DOCUMENT["servers"]
    assert servers["local"]["host"] == Settings.model_construct().bootstrap_servers
    assert servers["local"]["protocol"] == "kafka"
    assert servers["production"]["protocol"] == "kafka-secure"
    schemes = DOCUMENT["components"]["securitySchemes"]
    offered = {ref["$ref"].rsplit("/", 1)[1] for ref in servers["production"]["security"]}
    assert offered == set(schemes)
    types = {scheme["type"] for scheme in schemes.values()}
    mechanisms = {"PLAIN": "plain", "SCRAM-SHA-256": "scramSha256", "SCRAM-SHA-512": "scramSha512"}
    assert {mechanisms[m] for m in get_args(SaslMechanism)} | {"X509"} == types
    assert {"SSL", "SASL_SSL"} <= set(get_args(SecurityProtocol))


@given(st.sampled_from(sorted(DOCUMENT["components"]["messages"])))
def test_every_message_has_a_key_schema_and_headers(name: str) -> None:
    """No message goes undocumented at the Kafka level: each has a key schema and headers."""
    message = DOCUMENT["components"]["messages"][name]
    assert "key" in message["bindings"]["kafka"]
    assert message["headers"]["type"] == "object"


def test_the_control_channel_names_every_type_the_worker_writes_there() -> None:
    """The control channel's ``type`` is exactly the worker's: re-evaluation and erasure."""
    from streams.worker import codec

    (message,) = messages_of("control")
    assert set(message["payload"]["properties"]["type"]["enum"]) == {
        codec.CONTROL_TYPE,
        codec.ERASE_TYPE,
    }


def test_the_facts_channel_names_every_type_the_worker_writes_there() -> None:
    """The facts log channel's ``type`` is exactly the worker's: a recorded fact, an erasure;
    a record the worker writes meets the channel's payload and key schemas."""
    from rps.sealing import new_data_key
    from streams.core import Erase
    from streams.worker import facts_log
    from tests.unit.streams.test_processor import Record, inputs

    (message,) = messages_of("facts")
    assert set(message["payload"]["properties"]["type"]["enum"]) == {
        facts_log.RECORDED_TYPE,
        facts_log.ERASED_TYPE,
    }
    resident = str(uuid.uuid4())
    _, claim_record = inputs(resident)
    claim = codec_fact(claim_record.value)
    now = dt.datetime.now(dt.UTC)
    logged = facts_log.recorded(claim_record, claim.id, resident, new_data_key(), now)
    erase = Erase("erase-1", resident, "resident_request")
    control = Record(TOPICS.control, 0, 0, resident.encode(), b"{}")
    for value in (logged, facts_log.erased(control, erase, now)):
        assert meets(message["payload"], json.loads(value))
    assert meets(key_schema("facts"), resident)


def codec_fact(value: bytes | None) -> Any:
    from streams.worker import codec

    return codec.decode_inbound(value)
