"""The gateway's refusals, answered before anything is sent: 401, 403, 413, 415, 400 and 422.

These run the real app in-process with a publisher that points nowhere: a
refusal must never reach Kafka (the integration tests check the topics too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from producers.credentials import PublisherCredential
from producers.gateway import create_app
from producers.publisher import Publisher
from rps.settings import Settings
from schemas import PROFILE_UPDATED
from schemas.samples import example_lines
from tests.unit.producers.support import OTHER_SOURCE, PLANTED, SOURCE, cloudevent, line, simple

KEY = "rps_unit-test-key"
CREDENTIAL = PublisherCredential("pub_unit", SOURCE, dt.datetime.now(dt.UTC), None)


class OneKey:
    """Knows one key, bound to SOURCE."""

    async def authenticate(self, key: str) -> PublisherCredential | None:
        return CREDENTIAL if key == KEY else None


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        bootstrap_servers="127.0.0.1:9",  # nothing listens: a refusal must not need Kafka
        gateway_max_body_bytes=4096,
        gateway_max_batch_events=3,
        producer_send_timeout_seconds=1,
    )
    publisher = Publisher(settings)
    app = create_app(settings, publisher, OneKey())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
    await publisher.close()


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


async def test_a_missing_or_unknown_key_gets_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    """No key, an unknown key and a non-bearer scheme are all 401 problems."""
    body = line(cloudevent())
    for headers in ({}, auth("rps_wrong"), {"Authorization": f"Basic {KEY}"}):
        response = await client.post("/v1/events", content=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["type"] == "/problems/unauthenticated"


async def test_an_event_from_another_source_gets_403(client: httpx.AsyncClient) -> None:
    """A caller whose key is bound to one source cannot publish as another."""
    response = await client.post(
        "/v1/events", content=line(cloudevent(source=OTHER_SOURCE)), headers=auth()
    )
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden-source"
    assert response.json()["errors"][0]["field"] == "source"


async def test_an_outbound_type_gets_403(client: httpx.AsyncClient) -> None:
    """A delivery event may not be published, even under one's own source."""
    outbound = example_lines(PROFILE_UPDATED)[0].replace(b"urn:org:rps-hub", SOURCE.encode())
    response = await client.post("/v1/events", content=outbound, headers=auth())
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden-type"


async def test_an_oversized_body_gets_413_whether_declared_or_streamed(
    client: httpx.AsyncClient,
) -> None:
    """The limit holds for a declared Content-Length and for a chunked body without one."""
    big = b"[" + b" " * 5000 + b"]"
    declared = await client.post("/v1/events", content=big, headers=auth())

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    streamed = await client.post("/v1/events", content=chunks(), headers=auth())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["type"] == "/problems/too-large"


async def test_a_body_that_is_not_json_gets_400_and_a_form_gets_415(
    client: httpx.AsyncClient,
) -> None:
    """Malformed JSON is 400; a non-JSON media type is 415."""
    garbage = await client.post("/v1/events", content=b"{nope", headers=auth())
    form = await client.post(
        "/v1/events",
        content=b"a=b",
        headers={**auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (garbage.status_code, form.status_code) == (400, 415)


async def test_an_invalid_event_gets_422_listing_each_error_without_values(
    client: httpx.AsyncClient,
) -> None:
    """Each broken rule is listed by field and rule; the planted value is not echoed."""
    document = cloudevent(attribute="phone", value=PLANTED, subject="not-a-resident")
    response = await client.post("/v1/events", content=line(document), headers=auth())
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/invalid-event"
    found = {(e["field"], e["rule"]) for e in problem["errors"]}
    assert {("subject", "uuid_format"), ("data.value", "phone_format")} <= found
    assert PLANTED not in response.text


async def test_a_batch_with_one_bad_event_is_refused_whole_with_its_index(
    client: httpx.AsyncClient,
) -> None:
    """The 422 for a batch points at the bad event by index; none of the batch is sent."""
    batch = [cloudevent(), simple(value="07700 900123"), cloudevent()]
    response = await client.post("/v1/events/batch", content=line(batch), headers=auth())
    assert response.status_code == 422
    assert {(e["index"], e["field"]) for e in response.json()["errors"]} == {(1, "value")}


async def test_a_batch_with_a_spoofed_event_is_403_and_too_long_a_batch_is_422(
    client: httpx.AsyncClient,
) -> None:
    """One foreign source forbids the whole batch; more events than allowed is refused."""
    spoofed = [cloudevent(), cloudevent(source=OTHER_SOURCE)]
    response = await client.post("/v1/events/batch", content=line(spoofed), headers=auth())
    assert response.status_code == 403
    assert response.json()["errors"][0]["index"] == 1
    too_long = [simple() for _ in range(4)]
    response = await client.post("/v1/events/batch", content=line(too_long), headers=auth())
    assert (response.status_code, response.json()["errors"][0]["rule"]) == (422, "too_long")


async def test_kafka_unreachable_gives_503_with_retry_after(client: httpx.AsyncClient) -> None:
    """A valid event that cannot be acknowledged is a 503 with Retry-After, not a 202."""
    response = await client.post("/v1/events", content=line(simple()), headers=auth())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"] == "/problems/kafka-unavailable"
    health = await client.get("/health")
    assert health.status_code == 503
