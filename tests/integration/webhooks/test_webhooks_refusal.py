"""A refusal by the authority's endpoint, end to end: real worker, real receiver, `rps audit
show` tells the auditor the delivery was refused and with which status."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from starlette.responses import Response

import schemas
from consumers import webhooks
from consumers.webhooks.receiver import Receiver, free_port, serving
from producers import events as build
from rps.settings import Settings
from schemas.topics import Topics
from tests.conftest import read_records
from tests.integration.operators.conftest import decided, rps
from tests.integration.streams.conftest import PublishAs, Workers, audit_until
from tests.integration.webhooks.conftest import fast, register

WIRRAL = "E08000015"
ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": "E08000012",
}


async def test_a_refusal_is_dead_lettered_with_its_status_and_shown_by_audit_show(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """Wirral's endpoint answers 410 to an address delivery: the delivery is dead-lettered with
    ``webhook_refused:http_410``, never acknowledged, and `rps audit show` says it was refused."""
    settings = fast(worker_settings)
    now = dt.datetime.now(dt.UTC)
    workers()
    wirral = await publish_as(schemas.source_of_authority(WIRRAL))
    await wirral.change_subscription(authority=WIRRAL, attribute="address", minimum_assurance="low")
    resident = str(uuid.uuid4())
    grant = build.consent_granted(
        source="urn:org:rps-resident-app",
        resident=resident,
        authority=WIRRAL,
        attributes=["address"],
        purpose="tell_us_once",
        local_reference="WIRRAL-CT-0042",
        now=now - dt.timedelta(minutes=5),
    )
    claim = build.verified(
        source="urn:gss:E08000012",
        resident=resident,
        attribute="address",
        value=ADDRESS,
        assurance="medium",
        method="council_tax_record",
        verified_at=now - dt.timedelta(minutes=1),
        now=now,
    )
    await (await publish_as("urn:org:rps-resident-app")).publish(grant)
    await audit_until(settings, decided({grant.id}), workers)
    await (await publish_as("urn:gss:E08000012")).publish(claim)
    await audit_until(settings, decided({grant.id, claim.id}), workers)

    async def gone(_webhook_id: str, _tries: int) -> Response:
        return Response(status_code=410)

    port = free_port()
    receiver = Receiver(await register(settings, f"http://127.0.0.1:{port}/", WIRRAL), gone)
    async with serving(receiver, port):
        stats = await webhooks.run(settings, WIRRAL, stop_at_end=True)
    assert (stats.applied, stats.refused) == (0, 1)
    assert receiver.applied == {}

    topics = Topics(settings.topic_prefix)
    (dead,) = await read_records(settings, topics.deadletter, at_least=1)
    assert dict(dead.headers)["rps.dlq.reason"] == b"webhook_refused:http_410"
    assert await read_records(settings, topics.acknowledgements) == []

    shown = await rps(settings, "audit", "show", resident, "--json")
    assert shown.code == 0, shown.err
    delivered = [d for d in json.loads(shown.out)["decisions"] if d["decision"] == "delivered"]
    assert [(d["authority"], d["refused"], d["acknowledged_by"]) for d in delivered] == [
        (WIRRAL, "webhook_refused:http_410", None)
    ]
    text = await rps(settings, "audit", "show", resident)
    assert "refused (webhook_refused:http_410)" in text.out
    for value in ("L2 2DH", "Dale Street", "38012345", "WIRRAL-CT-0042"):
        assert value not in shown.out + text.out
