"""The HTTP gateway in-process against the real broker and a real credential store.

Every test checks what actually reached the topic: accepted events are there,
refused ones are not.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import structlog

from producers.credentials import CredentialStore, open_store
from producers.gateway import running
from rps.logs import configure
from rps.settings import Settings
from schemas import AttributeRetracted, decode
from schemas.topics import Topics
from tests.conftest import ReadTopic
from tests.unit.producers.support import (
    OTHER_SOURCE,
    PLANTED,
    RESIDENT,
    SOURCE,
    cloudevent,
    line,
    simple,
)


@dataclass
class Gateway:
    client: httpx.AsyncClient
    store: CredentialStore
    key: str
    settings: Settings

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", "Content-Type": "application/json"}


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """The gateway app on the test's topics, with a key for SOURCE, and no credential cache."""
    tuned = settings.model_copy(
        update={"gateway_credential_cache_seconds": 0, "gateway_max_body_bytes": 8192}
    )
    async with open_store(tuned) as store, running(tuned) as app:
        issued = await store.add(SOURCE)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client, store, issued.key, tuned)


async def test_an_event_is_answered_202_with_its_id_once_it_is_on_the_topic(
    gateway: Gateway, read_topic: ReadTopic
) -> None:
    """One CloudEvent: 202 and its id; the attributes topic holds it, keyed by resident."""
    document = cloudevent(event_id="gw-one")
    response = await gateway.client.post(
        "/v1/events", content=line(document), headers=gateway.auth()
    )
    assert (response.status_code, response.json()) == (202, {"id": "gw-one"})
    (record,) = await read_topic(Topics(gateway.settings.topic_prefix).attributes, at_least=1)
    assert (record.key, decode(record.value).id) == (RESIDENT.encode(), "gw-one")


async def test_a_batch_and_the_simple_form_reach_the_topic_with_the_callers_source(
    gateway: Gateway, read_topic: ReadTopic
) -> None:
    """A mixed batch is 202 with ids in order; simple-form events carry the key's source."""
    batch = [cloudevent(event_id="gw-b1"), simple(id="gw-b2"), simple()]
    response = await gateway.client.post(
        "/v1/events/batch", content=line(batch), headers=gateway.auth()
    )
    assert response.status_code == 202
    ids = response.json()["ids"]
    assert ids[:2] == ["gw-b1", "gw-b2"]
    assert len(ids) == 3
    records = await read_topic(Topics(gateway.settings.topic_prefix).attributes, at_least=3)
    events = [decode(r.value) for r in records]
    assert sorted(e.id for e in events) == sorted(ids)
    assert {e.source for e in events} == {SOURCE}


async def test_a_retraction_reaches_the_topic(gateway: Gateway, read_topic: ReadTopic) -> None:
    """POST /v1/retractions writes attribute.retracted for the named claim, as the caller."""
    body = {"resident": RESIDENT, "claim_id": "gw-one", "attribute": "email", "reason": "mistyped"}
    response = await gateway.client.post(
        "/v1/retractions", content=line(body), headers=gateway.auth()
    )
    assert response.status_code == 202
    (record,) = await read_topic(Topics(gateway.settings.topic_prefix).attributes, at_least=1)
    event = decode(record.value)
    assert isinstance(event, AttributeRetracted)
    assert (event.id, event.data.claim_id, event.source) == (
        response.json()["id"],
        "gw-one",
        SOURCE,
    )


async def test_refused_requests_leave_the_topic_untouched(
    gateway: Gateway, read_topic: ReadTopic
) -> None:
    """Unknown and revoked keys (401), a spoofed source (403), an oversized body (413) and an
    invalid event (422) send nothing: afterwards only the marker event is on the topic."""
    revoked = await gateway.store.add(SOURCE)
    await gateway.store.revoke(revoked.credential.id)
    post = gateway.client.post
    good = line(cloudevent())
    answers = [
        (await post("/v1/events", content=good, headers=gateway.auth("rps_unknown"))).status_code,
        (await post("/v1/events", content=good, headers=gateway.auth(revoked.key))).status_code,
        (
            await post(
                "/v1/events", content=line(cloudevent(source=OTHER_SOURCE)), headers=gateway.auth()
            )
        ).status_code,
        (
            await post(
                "/v1/events/batch",
                content=line([simple() for _ in range(80)]),
                headers=gateway.auth(),
            )
        ).status_code,
        (
            await post("/v1/events", content=line(simple(value=PLANTED)), headers=gateway.auth())
        ).status_code,
    ]
    assert answers == [401, 401, 403, 413, 422]
    marker = await post("/v1/events", content=line(simple(id="gw-marker")), headers=gateway.auth())
    assert marker.status_code == 202
    records = await read_topic(Topics(gateway.settings.topic_prefix).attributes, at_least=1)
    assert [decode(r.value).id for r in records] == ["gw-marker"]


async def test_gateway_logs_carry_no_personal_values(gateway: Gateway) -> None:
    """A full accept-and-refuse exchange with planted values writes none of them to the logs."""
    captured = io.StringIO()
    saved = structlog.get_config()
    configure("json", "debug", stream=captured)
    try:
        planted_name = {"given_names": "Plantedgiven", "family_name": "Plantedfamily"}
        for document in (
            simple(value=PLANTED),
            cloudevent(attribute="full_name", value=planted_name),
            cloudevent(source=OTHER_SOURCE, attribute="email", value=PLANTED),
            cloudevent(attribute="email", value=PLANTED.replace("@", ".ok@")),
        ):
            await gateway.client.post("/v1/events", content=line(document), headers=gateway.auth())
        await gateway.client.post("/v1/events", content=line(simple()), headers=gateway.auth("x"))
    finally:
        structlog.configure(**saved)
    logged = captured.getvalue()
    assert "refused" in logged
    assert "accepted" in logged
    for value in ("planted", "Planted", RESIDENT):
        assert value not in logged


async def test_health_says_ok_when_kafka_answers(gateway: Gateway) -> None:
    """GET /health is 200 with kafka reachable while the broker runs."""
    response = await gateway.client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "kafka": "reachable"})
