"""A simple-form line's event id comes from its content and source, so a resend is a duplicate.

The worker fingerprints an event by its encoded bytes and treats a known id
with the same fingerprint as a duplicate (a known id with other bytes is
refused as ``id_reused``), so a line read twice must give the very same bytes:
the same id, and a ``time`` that does not depend on when it was read.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from producers import InvalidInput
from producers.credentials import PublisherCredential
from producers.gateway import create_app
from producers.inputs import read_document, read_line, simple_event_id
from producers.publisher import Publisher
from rps.settings import Settings
from schemas import encode
from tests.unit.producers.support import OTHER_SOURCE, SOURCE, line, simple

NOW = dt.datetime.now(dt.UTC)
LATER = NOW + dt.timedelta(hours=3)


def test_the_same_line_read_twice_is_the_same_event_to_the_byte() -> None:
    """Read now and three hours later: same id, same time, same encoded bytes."""
    first = read_line(line(simple()), source=SOURCE, now=NOW)
    again = read_line(line(simple()), source=SOURCE, now=LATER)
    assert encode(first) == encode(again)
    assert uuid.UUID(first.id).version == 5


def test_key_order_and_spacing_do_not_change_the_id() -> None:
    """The id is of the canonical content, not of the line's bytes."""
    document = simple()
    spaced = json.dumps(dict(reversed(list(document.items()))), indent=2).encode()
    assert (
        read_line(spaced.replace(b"\n", b" "), source=SOURCE, now=NOW).id
        == read_line(line(document), source=SOURCE, now=NOW).id
    )


@pytest.mark.parametrize(
    "change",
    [
        {"value": "+447700900124"},
        {"assurance": "medium"},
        {"method": "council_tax_record"},
        {"verified_at": "2025-01-01T00:00:00Z"},
        {"resident": "7d1e0b52-1c9a-4f3e-8a6b-5c4d3e2f1a0b"},
    ],
)
def test_any_change_of_fact_is_a_new_event(change: dict[str, str]) -> None:
    """Another value, level, method, time or resident is another claim, with another id."""
    assert simple_event_id(simple(**change), SOURCE) != simple_event_id(simple(), SOURCE)


def test_another_publisher_saying_the_same_is_another_event() -> None:
    """The source is part of the id: two councils verifying the same fact are two claims."""
    assert simple_event_id(simple(), OTHER_SOURCE) != simple_event_id(simple(), SOURCE)


def test_an_id_given_on_the_line_is_kept_and_still_resends_identically() -> None:
    """An explicit ``id`` wins; read twice, the event is still the same bytes."""
    first = read_document(simple(id="lcc-77"), source=SOURCE, now=NOW)
    again = read_document(simple(id="lcc-77"), source=SOURCE, now=LATER)
    assert first.id == "lcc-77"
    assert encode(first) == encode(again)


def test_a_bad_verified_at_is_named_once_not_also_as_time() -> None:
    """``time`` is taken from ``verified_at``; its error is reported once, as verified_at's."""
    with pytest.raises(InvalidInput) as refused:
        read_document(simple(verified_at="yesterday"), source=SOURCE, now=NOW)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("verified_at", "datetime_format")]


class _Collecting(Publisher):
    """A publisher that keeps what it is asked to send instead of sending it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[bytes] = []

    async def publish_many(self, events, **_options):  # type: ignore[no-untyped-def]
        self.sent.extend(encode(event) for event in events)
        return []


class _OneKey:
    async def authenticate(self, key: str) -> PublisherCredential | None:
        return PublisherCredential("pub_unit", SOURCE, NOW, None) if key == "k" else None


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[httpx.AsyncClient, _Collecting]]:
    settings = Settings(bootstrap_servers="127.0.0.1:9")
    publisher = _Collecting(settings)
    app = create_app(settings, publisher, _OneKey())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client, publisher
    await publisher.close()


async def test_a_batch_retried_through_the_gateway_sends_the_same_events(
    gateway: tuple[httpx.AsyncClient, _Collecting],
) -> None:
    """The same batch posted twice answers the same ids and sends byte-identical events."""
    client, publisher = gateway
    batch = line([simple(), simple(value="+447700900124")])
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}
    answers = [
        await client.post("/v1/events/batch", content=batch, headers=headers) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    assert publisher.sent[:2] == publisher.sent[2:]
