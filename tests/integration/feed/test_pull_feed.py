"""The pull feed on a real `rps gateway` process over the real broker: pages by cursor across a
gateway restart, each authority only its own, acknowledgements that reach the hub."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete

from consumers._repository import PendingAck
from consumers._wire import acknowledgements
from consumers.webhooks.receiver import free_port
from producers.gateway.feed import Feed, decode_cursor
from rps.settings import Settings
from schemas import DeliveryApplied, decode
from tests.integration.consumers.conftest import KafkaIO
from tests.unit.consumers.events import address, profile_updated

RPS = str(Path(sys.executable).with_name("rps"))
LIVERPOOL, WIRRAL = "E08000012", "E08000015"
PER_RESIDENT = 6


class Gateway:
    """A real `rps gateway` on a fixed loopback port, which the test can restart."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "RPS_TOPIC_PREFIX": settings.topic_prefix,
            "RPS_DATABASE_URL": settings.database_url.get_secret_value(),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def key(self, authority: str) -> str:
        added = await asyncio.create_subprocess_exec(
            RPS, "feed", "add", authority, env=self.env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await added.communicate()
        assert added.returncode == 0
        return next(r.split()[-1] for r in out.decode().splitlines() if r.startswith("key:"))

    async def start(self) -> httpx.AsyncClient:
        self.process = await asyncio.create_subprocess_exec(
            RPS,
            "gateway",
            "--port",
            str(self.port),
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        for _ in range(600):
            assert self.process.returncode is None, "rps gateway exited"
            try:
                await client.get("/health")
                return client
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        pytest.fail("rps gateway never answered")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await self.process.wait()


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    running = Gateway(settings)
    try:
        yield running
    finally:
        await running.stop()


async def _deliver(kafka_io: KafkaIO, authority: str, residents: int) -> dict[str, list[str]]:
    """PER_RESIDENT updates for each of ``residents`` residents; decision ids per resident."""
    await kafka_io.ready(authority)
    expected: dict[str, list[str]] = {}
    for _ in range(residents):
        subject = str(uuid.uuid4())
        reference = f"REF-{subject[:8]}"
        values = [
            profile_updated(
                v, address(f"Flat {v}"), subject=subject, reference=reference, authority=authority
            )
            for v in range(1, PER_RESIDENT + 1)
        ]
        await kafka_io.produce(kafka_io.topics.deliveries(authority), values, key=subject.encode())
        expected[subject] = [f"dec-{reference}-address-{v}" for v in range(1, PER_RESIDENT + 1)]
    return expected


async def _page(
    client: httpx.AsyncClient, key: str, after: str | None, limit: int = 7
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
    response = await client.get(
        "/v1/deliveries", params=params, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_paging_with_cursors_across_a_restart_sees_every_delivery_once(
    settings: Settings, kafka_io: KafkaIO, gateway: Gateway
) -> None:
    """Liverpool pages through its deliveries seven at a time; the gateway restarts halfway;
    in the end it has seen each delivery exactly once, each resident's in order, and none of
    Wirral's. Wirral's key reads only Wirral's, even with Liverpool's cursor."""
    mine = await _deliver(kafka_io, LIVERPOOL, residents=5)
    theirs = await _deliver(kafka_io, WIRRAL, residents=2)
    liverpool, wirral = await gateway.key(LIVERPOOL), await gateway.key(WIRRAL)
    seen: list[dict[str, Any]] = []
    client = await gateway.start()
    cursor = None
    for _ in range(2):
        page = await _page(client, liverpool, cursor)
        seen += page["deliveries"]
        cursor = page["next"]
    await client.aclose()
    await gateway.stop()
    client = await gateway.start()
    try:
        while True:
            page = await _page(client, liverpool, cursor)
            seen += page["deliveries"]
            cursor = page["next"]
            if not page["deliveries"]:
                break
        assert not page["more"]
        assert not page["gap"]
        again = await _page(client, liverpool, cursor)
        assert again["deliveries"] == []

        other = await _page(client, wirral, None, limit=1000)
        with_my_cursor = await _page(client, wirral, cursor, limit=1000)
        unknown = await client.get(
            "/v1/deliveries", headers={"Authorization": "Bearer rpsf_not-a-key"}
        )
        bad_cursor = await client.get(
            "/v1/deliveries",
            params={"after": "c1.bm9wZQ"},
            headers={"Authorization": f"Bearer {liverpool}"},
        )
    finally:
        await client.aclose()
    ids = [d["data"]["decision_id"] for d in seen]
    assert len(ids) == len(set(ids)) == 5 * PER_RESIDENT
    by_resident: dict[str, list[str]] = {}
    for delivery in seen:
        assert delivery["data"]["authority"] == LIVERPOOL
        by_resident.setdefault(delivery["subject"], []).append(delivery["data"]["decision_id"])
    assert by_resident == mine
    wirral_ids = {d["data"]["decision_id"] for d in other["deliveries"]}
    assert wirral_ids == {i for ids in theirs.values() for i in ids}
    assert {d["data"]["authority"] for d in with_my_cursor["deliveries"]} <= {WIRRAL}
    assert unknown.status_code == 401
    assert bad_cursor.status_code == 400


async def test_acknowledgements_become_delivery_applied_as_the_subscriber_sends_them(
    settings: Settings, kafka_io: KafkaIO, gateway: Gateway
) -> None:
    """What Liverpool acknowledges reaches the hub as delivery.applied from Liverpool, with the
    same event ids the reference subscriber would give them; a malformed entry gets 422."""
    await _deliver(kafka_io, LIVERPOOL, residents=1)
    key = await gateway.key(LIVERPOOL)
    client = await gateway.start()
    try:
        page = await _page(client, key, None, limit=100)
        applied = [
            {
                "decision_id": d["data"]["decision_id"],
                "subject": d["subject"],
                "local_reference": d["data"]["local_reference"],
            }
            for d in page["deliveries"]
        ]
        headers = {"Authorization": f"Bearer {key}"}
        answer = await client.post(
            "/v1/acknowledgements", json={"acknowledgements": applied}, headers=headers
        )
        broken = await client.post(
            "/v1/acknowledgements",
            json={"acknowledgements": [{**applied[0], "subject": "not a pseudonym"}]},
            headers=headers,
        )
    finally:
        await client.aclose()
    assert (answer.status_code, answer.json()) == (202, {"count": PER_RESIDENT})
    assert broken.status_code == 422
    assert [e["field"] for e in broken.json()["errors"]] == ["acknowledgements.0.subject"]
    records = await kafka_io.read_all(kafka_io.topics.acknowledgements)
    acks = [decode(r.value) for r in records]
    assert all(isinstance(a, DeliveryApplied) and a.source == "urn:gss:E08000012" for a in acks)
    pending = [
        PendingAck(a["decision_id"], a["subject"], a["local_reference"], acks[0].time)
        for a in applied
    ]
    expected_ids = [
        event_id for event_id, _ in _ids(acknowledgements(LIVERPOOL, pending, acks[0].time))
    ]
    assert sorted(a.id for a in acks) == sorted(expected_ids)


def _ids(messages: list[tuple[bytes, bytes]]) -> list[tuple[str, bytes]]:
    return [(decode(value).id, key) for key, value in messages]


async def test_a_cursor_behind_what_retention_kept_is_told_of_the_gap(
    settings: Settings, kafka_io: KafkaIO
) -> None:
    """When deliveries after a cursor have gone (retention, here deleted by the admin API),
    the page says so (`gap`) and goes on from the oldest delivery the hub still holds."""
    ((_subject, ids),) = (await _deliver(kafka_io, LIVERPOOL, residents=1)).items()
    feed = Feed(settings)
    try:
        first = await feed.read(LIVERPOOL, None, 2)
        assert [d["data"]["decision_id"] for d in first.deliveries] == ids[:2]
        assert not first.gap
        (partition,) = decode_cursor(first.next)
        admin = AIOKafkaAdminClient(**settings.kafka_client_options())
        await admin.start()
        try:
            tp = TopicPartition(kafka_io.topics.deliveries(LIVERPOOL), partition)
            await admin.delete_records({tp: RecordsToDelete(before_offset=4)})
        finally:
            await admin.close()
        later = await feed.read(LIVERPOOL, first.next, 100)
    finally:
        await feed.close()
    assert later.gap
    assert [d["data"]["decision_id"] for d in later.deliveries] == ids[4:]
