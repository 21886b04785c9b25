"""No record stops a consumer: extreme values and records the database refuses are
dead-lettered with a reason, and the subscriber and read model go on to the next record."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import text

from consumers._database import create_engine
from consumers.readmodel import open_read_model, run_read_model
from consumers.subscriber import group_id, holdings, open_store, subscribe
from rps.settings import Settings
from schemas import ATTRIBUTE_VERIFIED, AUDIT_RECORDED
from schemas.samples import example_lines
from tests.integration.consumers.conftest import KafkaIO
from tests.unit.consumers.events import AUTHORITY, SUBJECT, address, profile_updated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KEY = SUBJECT.encode()
EXTREME = "0001-01-01T00:00:00+23:59"
HUGE = 2**64 - 1


def _edited(value: bytes, **data: Any) -> bytes:
    """A valid event's bytes with fields of ``data`` replaced (bypassing validation)."""
    document = orjson.loads(value)
    for name, new in data.items():
        if name == "verified_at" and "provenance" in document["data"]:
            document["data"]["provenance"]["verified_at"] = new
        else:
            document["data"][name] = new
    return orjson.dumps(document)


async def _reasons(kafka_io: KafkaIO) -> list[str]:
    records = await kafka_io.read_all(kafka_io.topics.deadletter)
    return [dict(r.headers)["rps.dlq.reason"].decode() for r in records]


async def test_an_extreme_timestamp_and_a_huge_version_are_dead_lettered_and_the_next_applies(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Year 1 at +23:59 and version 2^64-1 go to the dead letters; the valid delivery after them
    is applied, and a second run (a restart) reads nothing again."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    extreme = _edited(profile_updated(1, address("Flat 1")), verified_at=EXTREME)
    huge = _edited(profile_updated(2, address("Flat 2")), version=HUGE)
    await kafka_io.produce(topic, [extreme, huge, profile_updated(3, address("Flat 3"))], key=KEY)

    stats = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert (stats.records, stats.written, stats.dead_lettered) == (3, 1, 2)
    assert sorted(await _reasons(kafka_io)) == [
        "invalid:data.provenance.verified_at:offset_range",
        "invalid:data.version:above_maximum",
    ]
    (held,) = await holdings(backend_url, with_values=True)
    assert (held.version, held.value["lines"][0]) == (3, "Flat 3")
    again = await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    assert again.records == 0


async def test_a_delivery_the_database_refuses_is_dead_lettered_and_the_others_applied(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """A record that breaks a constraint of the authority's own database every time it is tried
    is dead-lettered as ``cannot_apply``; the records before and after it in the batch apply."""
    store = open_store(backend_url)
    await store.prepare()
    await store.close()
    engine = create_engine(backend_url)
    refuse = (
        "CREATE TRIGGER refuse BEFORE INSERT ON current_values WHEN NEW.local_reference = "
        "'REFUSED' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        if backend_url.startswith("sqlite")
        else "ALTER TABLE current_values ADD CONSTRAINT refuse CHECK (local_reference <> 'REFUSED')"
    )
    async with engine.begin() as connection:
        await connection.execute(text(refuse))
    await engine.dispose()
    await kafka_io.ready(AUTHORITY)
    batch = [
        profile_updated(1, address("Flat 1"), reference="LCC-1"),
        profile_updated(2, address("Flat 2"), reference="REFUSED"),
        profile_updated(3, address("Flat 3"), reference="LCC-3"),
    ]
    await kafka_io.produce(kafka_io.topics.deliveries(AUTHORITY), batch, key=KEY)

    impatient = settings.model_copy(update={"consumer_db_backoff_seconds": 0.01})
    stats = await subscribe(impatient, AUTHORITY, backend_url, stop_at_end=True)
    assert (stats.records, stats.written, stats.dead_lettered) == (3, 2, 1)
    (reason,) = await _reasons(kafka_io)
    assert reason.startswith("cannot_apply:")
    assert sorted(h.local_reference for h in await holdings(backend_url)) == ["LCC-1", "LCC-3"]
    committed = await kafka_io.committed(
        kafka_io.topics.deliveries(AUTHORITY), group_id(settings, AUTHORITY)
    )
    assert sum(offset or 0 for offset in committed.values()) == len(batch)


async def test_the_read_model_dead_letters_an_extreme_audit_record_and_reads_on(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """An audit record with version 2^64-1 is dead-lettered; an extreme claim sealed on the
    facts log is passed by (the worker would have refused it); the valid claim after both is
    recorded."""
    topics = kafka_io.topics
    audit = example_lines(AUDIT_RECORDED)[0]
    huge = orjson.loads(audit)
    huge["id"], huge["data"]["version"] = "audit-huge", HUGE
    claim = orjson.loads(example_lines(ATTRIBUTE_VERIFIED)[0])
    extreme = orjson.loads(orjson.dumps(claim))
    extreme["id"], extreme["data"]["verified_at"] = "claim-extreme", EXTREME
    key = claim["subject"].encode()
    await kafka_io.produce(topics.audit, [orjson.dumps(huge), audit], key=key)
    await kafka_io.record_facts(
        topics.attributes, [orjson.dumps(extreme), orjson.dumps(claim)], key=key
    )

    stats = await run_read_model(settings, backend_url, stop_at_end=True)
    assert (stats.records, stats.written, stats.skipped, stats.dead_lettered) == (4, 2, 1, 1)
    assert await _reasons(kafka_io) == ["invalid:data.version:above_maximum"]
    model = await open_read_model(backend_url)
    try:
        profile = await model.profile(claim["subject"])
    finally:
        await model.close()
    assert [p.claim_id for p in profile] == [claim["id"]]
