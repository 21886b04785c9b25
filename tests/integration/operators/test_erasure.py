"""Subject access and erasure against a real worker and Kafka: the export holds every planted
fact of its resident and nothing of another; `rps erase` ends every holding, forgets the
resident in the worker, the read model and the export, and replay and the audit chain hold."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import schemas
from consumers.readmodel import run_read_model
from producers import events as build
from rps.keystore import SqlKeyStore
from rps.reading import read_to_end
from rps.sealing import KeyForgotten
from rps.settings import Settings
from schemas.topics import Topics
from streams.operators import replay
from streams.runtime.names import changelog_topic
from streams.worker import facts_log
from tests.integration.operators.conftest import decided, rps, settled
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, events_of

APP = "urn:org:rps-resident-app"
WIRRAL = "E08000015"
CANARY_EMAIL = "canary-erase-7f3a@example.org"
CANARY_LINE = "7 Canary Erasure Row"
OTHER_LINE = "9 Untouched Terrace"


def address(line: str) -> dict[str, object]:
    return {
        "uprn": "38012345",
        "lines": [line],
        "town": "Wallasey",
        "postcode": "CH44 8ED",
        "local_authority": WIRRAL,
    }


async def plant(publish_as: PublishAs, resident: str, line: str, now: dt.datetime) -> list[str]:
    """A consent for Wirral and an address claim (and, for the canary, an email): their ids."""
    grant = build.consent_granted(
        source=APP,
        resident=resident,
        authority=WIRRAL,
        attributes=["address", "email"],
        purpose="tell_us_once",
        local_reference=f"WIR-{resident[:8]}",
        now=now - dt.timedelta(minutes=5),
    )
    claims = [
        build.verified(
            source="urn:gss:E08000012",
            resident=resident,
            attribute="address",
            value=address(line),
            assurance="medium",
            method="council_tax_record",
            verified_at=now - dt.timedelta(minutes=2),
            now=now,
        )
    ]
    if line == CANARY_LINE:
        claims.append(
            build.verified(
                source=APP,
                resident=resident,
                attribute="email",
                value=CANARY_EMAIL,
                assurance="low",
                method="self_asserted",
                verified_at=now - dt.timedelta(minutes=1),
                now=now,
            )
        )
    await (await publish_as(APP)).publish(grant)
    for claim in claims:
        publisher = await publish_as(claim.source)
        await publisher.publish(claim)
    return [grant.id, *(c.id for c in claims)]


@pytest.fixture(params=[False, True], ids=["plain", "sealed"])
def worker_settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    """The workers' settings, with the stored profiles' values sealed or not."""
    return settings.model_copy(
        update={
            "state_dir": tmp_path / "state",
            "expiry_tick_seconds": 0.5,
            "partitions": 4,
            "seal_profiles": request.param,
        }
    )


async def changelog_bytes(settings: Settings) -> bytes:
    """Every byte of every record on the worker's changelog, as stored."""
    records = await read_to_end(settings, changelog_topic(settings))
    return b"".join((r.key or b"") + (r.value or b"") for r in records)


async def export_of(settings: Settings, resident: str) -> dict[str, Any]:
    await run_read_model(settings, stop_at_end=True)
    ran = await rps(settings, "residents", "export", resident)
    assert ran.code == 0, ran.err
    document: dict[str, Any] = json.loads(ran.out)
    return document


async def test_export_then_erase_forgets_the_resident_and_nobody_else(
    worker_settings: Settings, workers: Workers, publish_as: PublishAs
) -> None:
    """The whole story of one erasure, with another resident alongside who keeps everything."""
    now = dt.datetime.now(dt.UTC)
    workers()
    wirral = await publish_as(schemas.source_of_authority(WIRRAL))
    for attribute in ("address", "email"):
        await wirral.change_subscription(
            authority=WIRRAL, attribute=attribute, minimum_assurance="low"
        )
    erased, other = str(uuid.uuid4()), str(uuid.uuid4())
    planted = await plant(publish_as, erased, CANARY_LINE, now)
    kept = await plant(publish_as, other, OTHER_LINE, now)
    await audit_until(worker_settings, decided(set(planted) | set(kept)), workers)
    topics = Topics(worker_settings.topic_prefix)
    sent = await events_of(worker_settings, topics.deliveries(WIRRAL), at_least=3)
    values = [e.data.value for e in sent if isinstance(e, schemas.ProfileUpdated)]
    assert CANARY_EMAIL in values  # delivered in plain text, sealed or not in the store

    # Subject access: every planted fact, nothing of the other resident.
    document = await export_of(worker_settings, erased)
    text = json.dumps(document)
    assert {c["claim_id"] for c in document["claims"]} == set(planted[1:])
    assert CANARY_EMAIL in text
    assert CANARY_LINE in text
    assert [c["authority"] for c in document["consents"]] == [WIRRAL]
    assert {d["attribute"] for d in document["sent"] if d["decision"] == "delivered"} == {
        "address",
        "email",
    }
    assert other not in text
    assert OTHER_LINE not in text
    for event_id in kept:
        assert event_id not in text

    # A legal hold refuses; the dry run lists ids and names, never a value, and changes nothing.
    held = await rps(worker_settings, "residents", "hold", erased, "--reason", "court_order")
    assert held.code == 0, held.err
    refused = await rps(worker_settings, "erase", erased, "--reason", "resident_request")
    assert refused.code == 3
    assert "court_order" in refused.err
    released = await rps(worker_settings, "residents", "release", erased)
    assert released.code == 0, released.err
    dry = await rps(worker_settings, "erase", erased, "--reason", "resident_request", "--dry-run")
    assert dry.code == 0, dry.err
    for claim_id in planted[1:]:
        assert claim_id in dry.out
    assert f"{WIRRAL} holds address, email" in dry.out
    assert CANARY_EMAIL not in dry.out + dry.err
    assert CANARY_LINE not in dry.out + dry.err

    # The erasure.
    done = await rps(worker_settings, "erase", erased, "--reason", "resident_request")
    assert done.code == 0, done.err
    records = await audit_until(
        worker_settings,
        lambda rs: any(r.subject == erased and r.data.decision == "erased" for r in rs),
        workers,
    )
    (entry,) = [r for r in records if r.subject == erased and r.data.decision == "erased"]
    assert entry.data.reason == "resident_request"
    endings = [
        e
        for e in await events_of(worker_settings, topics.deliveries(WIRRAL), at_least=4)
        if isinstance(e, schemas.ConsentEnded) and e.data.reason == "erased"
    ]
    assert [sorted(e.data.attributes) for e in endings] == [["address", "email"]]

    keys = await SqlKeyStore.open(worker_settings)
    try:
        assert await keys.get(erased) is None  # forgotten: nothing sealed under it opens
        assert await keys.forgotten(erased)  # made for the facts log, forgotten by the worker
        assert await keys.get(other) is not None
    finally:
        await keys.close()
    # The facts log never held a value in plain text; the erased resident's facts do not open.
    logged = await read_to_end(worker_settings, topics.facts)
    assert CANARY_EMAIL.encode() not in b"".join(r.value for r in logged)
    mine = [facts_log.decode(r.value) for r in logged if r.key == erased.encode()]
    assert {f.id for f in mine if f.erasure() is None} == set(planted)
    assert [f.reason for f in mine if f.erasure() is not None] == ["resident_request"]
    for fact in mine:
        if fact.erasure() is None:
            with pytest.raises(KeyForgotten):
                facts_log.opened(fact, None)
    if worker_settings.seal_profiles:  # the changelog never held the values in plain text
        stored_bytes = await changelog_bytes(worker_settings)
        assert CANARY_EMAIL.encode() not in stored_bytes
        assert CANARY_LINE.encode() not in stored_bytes
        assert OTHER_LINE.encode() not in stored_bytes
    live = await replay.live(worker_settings)
    assert live[erased].state.claims == {}
    assert live[erased].holdings == {}
    assert set(planted) <= live[erased].erased
    assert len(live[other].state.claims) == 1
    assert (await settled(worker_settings)).differing == []
    verified = await rps(worker_settings, "audit", "verify")
    assert verified.code == 0, verified.out + verified.err

    # The read model, hence the export and the portal, forget the resident; the other stays.
    after = await export_of(worker_settings, erased)
    after_text = json.dumps(after)
    assert after["claims"] == []
    assert after["profile"] == []
    assert after["consents"] == []
    assert [e["reason"] for e in after["erasures"]] == ["resident_request"]
    assert CANARY_EMAIL not in after_text
    assert CANARY_LINE not in after_text
    still = await export_of(worker_settings, other)
    assert OTHER_LINE in json.dumps(still)
