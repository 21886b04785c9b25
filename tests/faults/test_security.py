"""Security across the whole path: worker, gateway and subscriber as real processes.

One scenario plants canary values (an email address and an address line) in
events that travel gateway -> Kafka -> worker -> delivery topic -> subscriber
database, and in events the gateway refuses. It proves that a publisher
cannot publish as another source nor retract another publisher's claim, that
no delivery carries a hub resident id or a national insurance number, and that
the canaries reach the authority's database but no log file and no output of
any process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

import schemas
from consumers.subscriber import holdings
from infra.kafka_config import KafkaPaths
from producers.credentials import open_store
from rps.settings import Settings
from schemas.topics import Topics
from tests.faults.conftest import Gateway, leaks, start_subscriber
from tests.faults.hostile import NINO
from tests.faults.hostile_http import SOURCE
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, records_of

pytestmark = pytest.mark.integration

WIRRAL = "E08000015"
DWP = "urn:org:dwp"
NINO_SHAPE = re.compile(rb"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]")


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def post(gateway: Gateway, key: str, path: str, document: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        return await client.post(
            path,
            content=orjson.dumps(document),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )


async def test_sources_retractions_deliveries_and_logs_hold_under_attack(
    settings: Settings,
    worker_settings: Settings,
    workers: Workers,
    publish_as: PublishAs,
    gateway: Gateway,
    local_services: Settings,
    tmp_path: Path,
) -> None:
    """Another source is refused (403); another publisher's retraction changes nothing;
    deliveries carry no hub id or NI number; canaries reach the database but no log."""
    topics = Topics(settings.topic_prefix)
    email_canary = f"canary-{uuid.uuid4().hex}@example.com"
    line_canary = f"{uuid.uuid4().hex[:12]} Canary Street"
    residents = [str(uuid.uuid4()) for _ in range(3)]
    async with open_store(settings) as store:
        dwp_key = (await store.add(DWP)).key
    wirral = await publish_as(schemas.source_of_authority(WIRRAL))
    for attribute in ("email", "address"):
        await wirral.change_subscription(
            authority=WIRRAL, attribute=attribute, minimum_assurance="low"
        )
    app = await publish_as("urn:org:rps-resident-app")
    for n, resident in enumerate(residents):
        await app.grant_consent(resident, WIRRAL, ["email", "address"], "council_tax", f"WIR-{n}")
    workers()

    now = dt.datetime.now(dt.UTC)
    claims = []
    for resident in residents:
        claims.append(
            await post(
                gateway,
                gateway.key,
                "/v1/events",
                {
                    "resident": resident,
                    "attribute": "email",
                    "value": email_canary,
                    "assurance": "medium",
                    "method": "council_tax_record",
                    "verified_at": stamp(now - dt.timedelta(hours=1)),
                },
            )
        )
    address = {
        "uprn": "38012345",
        "lines": [line_canary],
        "town": "Liverpool",
        "postcode": "L2 2DH",
        "local_authority": "E08000012",
    }
    claims.append(
        await post(
            gateway,
            gateway.key,
            "/v1/events",
            {
                "resident": residents[0],
                "attribute": "address",
                "value": address,
                "assurance": "medium",
                "method": "council_tax_record",
                "verified_at": stamp(now - dt.timedelta(hours=1)),
            },
        )
    )
    assert [c.status_code for c in claims] == [202] * 4, [c.text for c in claims]
    claim_ids = [c.json()["id"] for c in claims]

    # DWP may not publish as Liverpool, and its request carrying planted values is refused
    # without repeating them.
    impostor = {
        "specversion": "1.0",
        "id": f"impostor-{uuid.uuid4().hex}",
        "source": SOURCE,
        "type": schemas.ATTRIBUTE_VERIFIED,
        "subject": residents[1],
        "time": stamp(now),
        "data": {
            "attribute": "email",
            "value": email_canary,
            "assurance": "very_high",
            "method": "council_tax_record",
            "verified_at": stamp(now),
            "national_insurance_number": NINO,
        },
    }
    refused = await post(gateway, dwp_key, "/v1/events", impostor)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/forbidden-source"
    assert email_canary.encode() not in refused.content
    assert NINO.encode() not in refused.content

    # DWP retracts Liverpool's claim: the gateway sends it under DWP's own source, and the
    # worker refuses it because a retraction counts only from the claim's own publisher.
    retraction = await post(
        gateway,
        dwp_key,
        "/v1/retractions",
        {
            "resident": residents[0],
            "claim_id": claim_ids[0],
            "attribute": "email",
            "reason": "reported_in_error",
        },
    )
    assert retraction.status_code == 202, retraction.text
    retraction_id = retraction.json()["id"]
    audit = await audit_until(
        worker_settings,
        lambda audit: {*claim_ids, retraction_id} <= {a.data.event_id for a in audit},
        workers,
        wait=180,
    )
    verdicts = {(a.data.decision, a.data.reason) for a in audit if a.data.event_id == retraction_id}
    assert verdicts == {("rejected", "not_claim_publisher")}

    deliveries = await records_of(worker_settings, topics.deliveries(WIRRAL), at_least=4)
    events = [schemas.decode(r.value) for r in deliveries]
    updates = [e for e in events if isinstance(e, schemas.ProfileUpdated)]
    assert len(updates) == len(events), "only profile updates reached Wirral"
    assert all(e.data.value is not None for e in updates), "the retraction reached Wirral"
    for record in deliveries:
        raw = (record.key or b"") + (record.value or b"") + b"".join(v for _, v in record.headers)
        assert not any(r.encode() in raw for r in residents), "a delivery names a hub id"
        assert not NINO_SHAPE.search(raw), "a delivery carries a national insurance number"

    subscriber_log = tmp_path / "subscriber.log"
    db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    process = await start_subscriber(worker_settings, WIRRAL, db, subscriber_log, "--stop-at-end")
    assert await asyncio.wait_for(process.wait(), 120) == 0, subscriber_log.read_text()
    held = await holdings(db, with_values=True)
    values = orjson.dumps([h.value for h in held])
    assert email_canary.encode() in values, "the email travelled into Wirral's database"
    assert line_canary.encode() in values, "the address travelled into Wirral's database"
    assert {h.local_reference for h in held} == {"WIR-0", "WIR-1", "WIR-2"}

    broker = KafkaPaths.of(local_services)
    files = [
        *(tmp_path / f"worker-{n}.log" for n in range(len(workers.processes))),
        gateway.output,
        subscriber_log,
        broker.log,
        broker.console,
    ]
    leaked = await asyncio.to_thread(leaks, files, [email_canary, line_canary, NINO])
    assert not leaked, f"planted values reached a log or an output: {leaked}"
