"""The hub read model from the real topics (claims and consents from the sealed facts log):
profile, consents, acknowledged history; rebuildable."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import SecretStr

from consumers.errors import TransientFailure
from consumers.readmodel import ResidentView, open_read_model, run_read_model
from rps.keystore import SqlKeyStore
from rps.settings import Settings
from schemas import (
    ATTRIBUTE_RETRACTED,
    ATTRIBUTE_VERIFIED,
    AUDIT_RECORDED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    DELIVERY_APPLIED,
)
from schemas.samples import example_lines
from tests.integration.consumers.conftest import KafkaIO

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

RESIDENT = "3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


async def _publish_examples(kafka_io: KafkaIO) -> None:
    """Every example event where the read model finds it, keyed as the product keys it: the
    inbound ones sealed on the facts log, as the worker records them."""
    topics = kafka_io.topics
    placed = [
        (topics.attributes, ATTRIBUTE_VERIFIED),
        (topics.attributes, ATTRIBUTE_RETRACTED),
        (topics.consents, CONSENT_GRANTED),
        (topics.consents, CONSENT_WITHDRAWN),
        (topics.audit, AUDIT_RECORDED),
        (topics.acknowledgements, DELIVERY_APPLIED),
    ]
    for topic, event_type in placed:
        for line in example_lines(event_type):
            key = orjson.loads(line)["subject"].encode()
            if topic in (topics.attributes, topics.consents):
                await kafka_io.record_facts(topic, [line], key=key)
            else:
                await kafka_io.produce(topic, [line], key=key)


async def _view(db_url: str) -> ResidentView:
    model = await open_read_model(db_url)
    try:
        return await model.resident(RESIDENT, NOW)
    finally:
        await model.close()


async def test_the_read_model_shows_profile_consents_and_acknowledged_deliveries(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Claims, consents, audit and acks from the topics meet in one resident view."""
    await _publish_examples(kafka_io)
    stats = await run_read_model(settings, backend_url, stop_at_end=True)
    assert stats.dead_lettered == 0
    view = await _view(backend_url)
    shown = {p.attribute: p for p in view.profile}
    assert "wirral-ctax-2025-000417" not in {p.claim_id for p in view.profile}  # retracted
    assert shown["full_name"].source == "urn:org:dvla"
    assert any(c.authority == "E08000012" for c in view.consents)
    delivered = [d for d in view.history if d.decision == "delivered"]
    assert delivered
    acknowledged = {d.decision_id: d.acknowledged_at for d in delivered}
    assert acknowledged["dec-0f4c2a91-lcc-address-3"] == datetime(2025, 3, 3, 10, 15, 4, tzinfo=UTC)


async def test_a_rebuild_from_the_topics_reproduces_the_same_view(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Emptying the read model and reading every topic again gives exactly the same view."""
    await _publish_examples(kafka_io)
    await run_read_model(settings, backend_url, stop_at_end=True)
    live = await _view(backend_url)
    again = await run_read_model(settings, backend_url, stop_at_end=True, rebuild=True)
    assert again.records > 0
    assert await _view(backend_url) == live


async def test_an_unreadable_audit_record_is_dead_lettered_and_reading_goes_on(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """A broken audit record goes to dead letter; a broken facts log record is passed by."""
    topics = kafka_io.topics
    key = RESIDENT.encode()
    await kafka_io.produce(topics.audit, [b"{not json"], key=key)
    await kafka_io.produce(topics.facts, [b"{not json either"], key=key)
    await _publish_examples(kafka_io)
    stats = await run_read_model(settings, backend_url, stop_at_end=True)
    assert (stats.dead_lettered, stats.skipped) == (1, 1)
    (dead,) = await kafka_io.read_all(topics.deadletter)
    assert dict(dead.headers)["rps.dlq.topic"] == topics.audit.encode()
    assert (await _view(backend_url)).profile


async def test_records_of_an_erased_resident_do_not_open_and_are_counted(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """Facts sealed under a data key the key store has forgotten are passed by, counted as
    forgotten, and leave nothing of the resident; the read model goes on."""
    await _publish_examples(kafka_io)
    keys = await SqlKeyStore.open(settings)
    try:
        assert await keys.forget(RESIDENT)
    finally:
        await keys.close()
    sealed = [
        r for r in await kafka_io.read_all(kafka_io.topics.facts) if r.key == RESIDENT.encode()
    ]
    stats = await run_read_model(settings, backend_url, stop_at_end=True)
    assert stats.forgotten == len(sealed) > 0
    assert stats.dead_lettered == 0
    view = await _view(backend_url)
    assert (view.profile, view.consents) == ((), ())
    assert view.history  # the audit (no values) is still read


async def test_an_unreachable_key_store_is_a_transient_failure(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """The key store away is retried (by the key store, then by the consume loop) and then
    ends the run as the database away does: nothing is dead-lettered or passed by."""
    await _publish_examples(kafka_io)
    away = settings.model_copy(
        update={
            "database_url": SecretStr("postgresql+asyncpg://rps:rps@127.0.0.1:9/rps"),
            "keystore_attempts": 2,
            "keystore_timeout_seconds": 1.0,
            "consumer_db_attempts": 2,
            "consumer_db_backoff_seconds": 0.01,
        }
    )
    with pytest.raises(TransientFailure):
        await run_read_model(away, backend_url, stop_at_end=True)
    assert await kafka_io.read_all(kafka_io.topics.deadletter) == []
