"""The facts log's records: the original record sealed whole, only ids and metadata in plain,
opening only with the resident's live key and only for the resident and event it was sealed
for; erasures plain; and the processor appends one for each input that changed the state."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas
from rps.sealing import KeyForgotten, SealBroken, new_data_key
from schemas import strategies as events_st
from streams.core import Erase, SubscriptionChange
from streams.worker import codec, entries, facts_log
from tests.unit.streams.memory_keys import MemoryKeys
from tests.unit.streams.test_processor import TOPICS, Record, Store, inputs, processor

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@given(events_st.inbound_events(), st.booleans())
def test_a_record_is_kept_whole_and_sealed_and_opens_byte_for_byte(
    event: schemas.Event, binary: bool
) -> None:
    """Structured or binary mode: the value and every header come back exactly, and the plain
    part of the record holds ids, the topic and the timestamp only."""
    if isinstance(event, schemas.SubscriptionChanged):
        return
    if binary:
        value, headers = schemas.to_binary(event)
    else:
        value, headers = schemas.encode(event), [schemas.CONTENT_TYPE_HEADER]
    record = Record(TOPICS.attributes, 1, 7, event.subject.encode(), value, headers, 1234.5678)
    item = codec.decode_inbound(value, headers)
    assert not isinstance(item, SubscriptionChange)
    key = new_data_key()
    logged = facts_log.recorded(record, item.id, item.resident, key, NOW)
    fact = facts_log.decode(logged)
    assert (fact.id, fact.resident, fact.topic) == (event.id, event.subject, TOPICS.attributes)
    assert fact.timestamp_ms == 1234568
    assert fact.erasure() is None
    assert facts_log.opened(fact, key) == (value, list(headers))
    document = orjson.loads(logged)
    assert set(document["data"]) == {"sealed"}
    assert orjson.dumps(event.data.model_dump(mode="json")) not in logged


def test_a_record_opens_only_with_the_live_key_for_its_own_resident_and_event() -> None:
    """A newer key (the resident erased since) gives KeyForgotten; the envelope moved to
    another resident or event gives SealBroken."""
    resident = str(uuid.uuid4())
    _, claim = inputs(resident)
    key = new_data_key(1)
    item = codec.decode_inbound(claim.value)
    assert not isinstance(item, SubscriptionChange)
    fact = facts_log.decode(facts_log.recorded(claim, item.id, resident, key, NOW))
    with pytest.raises(KeyForgotten):
        facts_log.opened(fact, None)
    with pytest.raises(KeyForgotten):
        facts_log.opened(fact, new_data_key(2))
    for moved in (
        facts_log.LoggedFact(fact.id, str(uuid.uuid4()), fact.topic, 0, fact.sealed),
        facts_log.LoggedFact("another-event", fact.resident, fact.topic, 0, fact.sealed),
    ):
        with pytest.raises(SealBroken):
            facts_log.opened(moved, key)


def test_an_erasure_is_logged_in_plain_and_read_back_as_the_erasure() -> None:
    """An erasure carries ids and its reason code only, unsealed, and decodes to itself."""
    resident = str(uuid.uuid4())
    item = Erase("erase:1", resident, "resident_request")
    control = Record(TOPICS.control, 0, 3, resident.encode(), codec.encode_control(item))
    fact = facts_log.decode(facts_log.erased(control, item, NOW))
    assert fact.erasure() == item
    assert fact.sealed is None


@pytest.mark.parametrize("raw", [b"", b"{}", b"[1]", b'{"type": "uk.gov.rps.other.v1"}'])
def test_a_record_the_worker_did_not_write_is_refused(raw: bytes) -> None:
    """Anything else on the topic is not a facts log record."""
    with pytest.raises(facts_log.FactsLogError):
        facts_log.decode(raw)


@pytest.mark.asyncio
async def test_the_processor_logs_each_new_fact_once_sealed_and_each_erasure_in_plain() -> None:
    """A consent and a claim: one sealed facts record each, first among the outputs; the claim
    seen again before its outputs are known sent gets the same record again, byte for byte,
    and once they are, a duplicate logs nothing; an erasure logs itself unsealed and forgets
    the key, so the claim's record no longer opens."""
    resident = str(uuid.uuid4())
    keys, store = MemoryKeys(), Store()
    worker = processor(store, keys=keys)
    grant, claim = inputs(resident)
    logged: list[facts_log.LoggedFact] = []
    first: bytes | None = None
    for record in (grant, claim):
        decision = await worker.handle(record)
        topic, key, first, _ = decision.records[0]
        assert (topic, key) == (TOPICS.facts, resident.encode())
        logged.append(facts_log.decode(first))
    assert [f.id for f in logged] == [
        codec.decode_inbound(grant.value).id,
        codec.decode_inbound(claim.value).id,
    ]
    live_key = await keys.key_for(resident, create=False)
    assert facts_log.opened(logged[1], live_key)[0] == claim.value
    duplicate = Record(claim.topic, 0, 9, claim.key, claim.value)
    again = [v for t, _, v, _ in (await worker.handle(duplicate)).records if t == TOPICS.facts]
    assert again == [first]  # recalled from the outbox: sent again as it was
    _, later = inputs(resident)
    assert (await worker.handle(Record(later.topic, 0, 10, later.key, later.value))).records
    for settled in [k for k in store.data if entries.is_entry_key(k)]:
        del store.data[settled]  # every output in Kafka: the stages delete the entries
    assert TOPICS.facts not in [t for t, *_ in (await worker.handle(duplicate)).records]

    erase = Erase("erase:2", resident, "resident_request")
    control = Record(TOPICS.control, 0, 1, resident.encode(), codec.encode_control(erase))
    records = (await worker.handle(control)).records
    (erased,) = [facts_log.decode(v) for t, _, v, _ in records if t == TOPICS.facts]
    assert erased.erasure() == erase
    assert await keys.key_for(resident, create=False) is None
    with pytest.raises(KeyForgotten):
        facts_log.opened(logged[1], await keys.key_for(resident, create=False))
