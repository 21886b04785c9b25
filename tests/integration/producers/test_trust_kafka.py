"""Who may say what at the edge, against the real broker and registry.

The gateway refuses with 403 what the caller's role does not allow, and
nothing of it reaches Kafka; what it sends carries its vouching signature,
which verifies against the registry read back from the topic. The SDK signs
with the publisher's own key, and that verifies too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from cli.spawn import environment
from producers import Publisher
from producers import events as build
from producers.credentials import open_store
from producers.gateway import running
from rps import registry
from rps.settings import Settings
from schemas import Event
from schemas.registry import Role, Signer, verify
from schemas.signing import wire_document
from schemas.topics import Topics
from streams.worker.trust import allowed
from tests.conftest import ReadTopic, read_records
from tests.unit.producers.support import RESIDENT, address, cloudevent, stamp

RPS = str(Path(sys.executable).with_name("rps"))
COUNCIL = "urn:gss:E08000012"
OTHER = "E08000015"
GATEWAY = "urn:org:rps-gateway"
REGISTRAR = "urn:org:gro"


@dataclass
class Edge:
    client: httpx.AsyncClient
    settings: Settings
    keys: dict[str, str]

    def auth(self, source: str = COUNCIL) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[source]}", "Content-Type": "application/json"}


@pytest.fixture
async def trusted(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings with a registry: the gateway, a council and the registrar (no grace)."""
    tuned = settings.model_copy(
        update={
            "state_dir": tmp_path / "state",
            "registry_grace_seconds": 0.0,
            "gateway_credential_cache_seconds": 0,
        }
    )
    gateway = await registry.register(tuned, GATEWAY, Role.GATEWAY)
    await registry.register(tuned, COUNCIL, Role.LOCAL_AUTHORITY)
    await registry.register(tuned, REGISTRAR, Role.REGISTRAR)
    return tuned.model_copy(
        update={"gateway_signing_key_file": gateway.path, "gateway_signing_key_id": gateway.key_id}
    )


@pytest.fixture
async def edge(trusted: Settings) -> AsyncIterator[Edge]:
    """The gateway app with API keys for the council, the registrar and an unregistered source."""
    async with open_store(trusted) as store, running(trusted, permit=allowed) as app:
        keys = {
            source: (await store.add(source)).key
            for source in (COUNCIL, REGISTRAR, "urn:org:nobody")
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Edge(client, trusted, keys)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def _json(event: Event) -> bytes:
    return event.model_dump_json().encode()


FORGED: dict[str, tuple[Callable[[], Event], tuple[str, str]]] = {
    "consent for a resident from a council key": (
        lambda: build.consent_granted(
            source=COUNCIL,
            resident=RESIDENT,
            authority=COUNCIL.removeprefix("urn:gss:"),
            attributes=["address"],
            purpose="council_tax",
            local_reference="LIV-1",
            now=_now(),
        ),
        ("type", "not_permitted_event_type"),
    ),
    "withdrawal for another authority": (
        lambda: build.consent_withdrawn(
            source=COUNCIL, resident=RESIDENT, authority=OTHER, attributes="all", now=_now()
        ),
        ("type", "not_permitted_event_type"),
    ),
    "subscription change for another authority": (
        lambda: build.subscription_changed(
            source=COUNCIL,
            authority=OTHER,
            attribute="address",
            minimum_assurance="low",
            active=True,
            now=_now(),
        ),
        ("data.authority", "not_own_subscription"),
    ),
    "date of death at very_high from a council key": (
        lambda: build.verified(
            source=COUNCIL,
            resident=RESIDENT,
            attribute="date_of_death",
            value={"date": "2026-11-01"},
            assurance="very_high",
            method="death_registration",
            verified_at=_now(),
            now=_now(),
        ),
        ("data.attribute", "not_permitted_attribute"),
    ),
}


@pytest.mark.parametrize("case", list(FORGED))
async def test_the_gateway_refuses_what_the_role_forbids(
    edge: Edge, read_topic: ReadTopic, case: str
) -> None:
    """Each forged case from the issue is a 403 not-permitted, and nothing reaches Kafka."""
    make, (field, rule) = FORGED[case]
    response = await edge.client.post("/v1/events", content=_json(make()), headers=edge.auth())
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"] == "/problems/not-permitted"
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [(field, rule)]
    topics = Topics(edge.settings.topic_prefix)
    for topic in (topics.attributes, topics.consents, topics.subscriptions):
        assert await read_topic(topic) == []


async def test_a_batch_with_one_forbidden_event_sends_none(
    edge: Edge, read_topic: ReadTopic
) -> None:
    """A batch is all or nothing: one forbidden event refuses it, naming its index."""
    allowed = cloudevent(
        source=COUNCIL,
        attribute="address",
        value=address(),
        data={
            "attribute": "address",
            "value": address(),
            "assurance": "medium",
            "method": "council_tax_record",
            "verified_at": stamp(),
        },
    )
    forbidden = orjson.loads(_json(FORGED["date of death at very_high from a council key"][0]()))
    response = await edge.client.post(
        "/v1/events/batch", content=orjson.dumps([allowed, forbidden]), headers=edge.auth()
    )
    assert response.status_code == 403
    assert [e["index"] for e in response.json()["errors"]] == [1]
    assert await read_topic(Topics(edge.settings.topic_prefix).attributes) == []


async def test_an_unregistered_source_is_refused(edge: Edge, read_topic: ReadTopic) -> None:
    """A valid API key whose source has no role in the registry gets 403 not-registered."""
    document = cloudevent(source="urn:org:nobody")
    response = await edge.client.post(
        "/v1/events", content=orjson.dumps(document), headers=edge.auth("urn:org:nobody")
    )
    assert (response.status_code, response.json()["type"]) == (403, "/problems/not-registered")
    assert await read_topic(Topics(edge.settings.topic_prefix).attributes) == []


async def test_what_the_gateway_sends_is_vouched_and_verifies(
    edge: Edge, read_topic: ReadTopic
) -> None:
    """A council's address and a registrar's death pass; each verifies as vouched by the gateway."""
    address_claim = build.verified(
        source=COUNCIL,
        resident=RESIDENT,
        attribute="address",
        value=address(),
        assurance="high",
        method="council_tax_record",
        verified_at=_now(),
        now=_now(),
    )
    death = FORGED["date of death at very_high from a council key"][0]()
    death = death.model_copy(update={"source": REGISTRAR})
    for source, event in ((COUNCIL, address_claim), (REGISTRAR, death)):
        response = await edge.client.post(
            "/v1/events", content=_json(event), headers=edge.auth(source)
        )
        assert response.status_code == 202, response.text
    records = await read_topic(Topics(edge.settings.topic_prefix).attributes, at_least=2)
    view = await registry.read_registry(edge.settings)
    signers = set()
    for record in records:
        stamped = dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC)
        signer = verify(wire_document(record.value, record.headers or ()), stamped, view)
        assert isinstance(signer, Signer), signer
        signers.add((signer.source, signer.voucher))
    assert signers == {(COUNCIL, GATEWAY), (REGISTRAR, GATEWAY)}


async def test_the_sdk_signs_with_the_publishers_key(
    trusted: Settings, read_topic: ReadTopic
) -> None:
    """Publisher with RPS_SIGNING_KEY_FILE/ID: the event on Kafka verifies as the council's own."""
    issued = await registry.rotate(trusted, COUNCIL)
    signed = trusted.model_copy(
        update={"signing_key_file": issued.path, "signing_key_id": issued.key_id}
    )
    event = build.verified(
        source=COUNCIL,
        resident=RESIDENT,
        attribute="address",
        value=address(),
        assurance="medium",
        method="council_tax_record",
        verified_at=_now(),
        now=_now(),
    )
    async with Publisher(signed, source=COUNCIL) as publisher:
        await publisher.publish(event)
    (record,) = await read_topic(Topics(trusted.topic_prefix).attributes, at_least=1)
    stamped = dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC)
    view = await registry.read_registry(trusted)
    signer = verify(wire_document(record.value), stamped, view)
    assert signer == Signer(COUNCIL, Role.LOCAL_AUTHORITY, issued.key_id)
    revoked = await registry.revoke(trusted, COUNCIL, issued.key_id)
    assert revoked.revoked_at is not None
    later = await registry.read_registry(trusted)
    assert verify(wire_document(record.value), stamped, later) == signer  # signed before revocation


def test_rps_publish_signs_with_the_configured_key(trusted: Settings, tmp_path: Path) -> None:
    """`rps publish` with RPS_SIGNING_KEY_FILE/ID sends events that verify as the council's;
    a key id without its file is refused with exit 2 before anything is sent."""
    issued = asyncio.run(registry.rotate(trusted, COUNCIL))
    changes = tmp_path / "changes.jsonl"
    line = {
        "resident": RESIDENT,
        "attribute": "address",
        "value": address(),
        "assurance": "medium",
        "method": "council_tax_record",
        "verified_at": stamp(),
    }
    changes.write_bytes(orjson.dumps(line) + b"\n")
    env = {
        **environment(trusted),
        "RPS_PUBLISHER_SOURCE": COUNCIL,
        "RPS_SIGNING_KEY_FILE": str(issued.path),
        "RPS_SIGNING_KEY_ID": issued.key_id,
    }
    sent = subprocess.run(
        [RPS, "publish", str(changes)], env=env, capture_output=True, text=True, timeout=120
    )
    assert sent.returncode == 0, sent.stderr
    records = asyncio.run(read_records(trusted, Topics(trusted.topic_prefix).attributes))
    (record,) = records
    view = asyncio.run(registry.read_registry(trusted))
    stamped = dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC)
    assert verify(wire_document(record.value), stamped, view) == Signer(
        COUNCIL, Role.LOCAL_AUTHORITY, issued.key_id
    )
    broken = subprocess.run(
        [RPS, "publish", str(changes)],
        env={**env, "RPS_SIGNING_KEY_FILE": str(tmp_path / "missing.pem")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert broken.returncode == 2
    assert broken.stderr.strip().endswith("error: RPS_SIGNING_KEY_FILE: no such file")
    assert len(asyncio.run(read_records(trusted, Topics(trusted.topic_prefix).attributes))) == 1
