"""The processor over in-memory ports: one Decision per input, and the outbox rule (an input
seen again is given the outputs it was given before, byte for byte, and is not decided twice)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator, Awaitable, Iterable
from dataclasses import dataclass, field, replace

import orjson
import pytest

import schemas
from producers import events as build
from rps.settings import Settings
from schemas.registry import KeyRecorded, PublisherRegistered, RegistryView, Role
from schemas.signing import SigningKey, sign_value
from schemas.topics import Topics
from streams.core import SubscriptionChange, apply_all
from streams.worker import audit_chain, codec, entries, facts_log, keeping, stored
from streams.worker.directory import Poll, SubscriptionDirectory
from streams.worker.processor import Processor
from tests.unit.streams import first_format
from tests.unit.streams.memory_keys import MemoryKeys

pytestmark = pytest.mark.asyncio

SETTINGS = Settings()
TOPICS = Topics(SETTINGS.topic_prefix)
WIRRAL = "E08000015"
APP = "urn:org:resident-app"
APP_KEY = SigningKey.generate(f"{APP}#a")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": "E08000012",
}


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None = None
    timestamp: float = 0.0


@dataclass
class Store:
    data: dict[bytes, bytes] = field(default_factory=dict)
    keys: MemoryKeys = field(default_factory=MemoryKeys)
    """The residents' data keys, kept as long as the table (the hub's key store)."""

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.data[key] = value

    def items(self) -> Iterable[tuple[bytes, bytes | None]]:
        return list(self.data.items())


async def no_follow(settings: Settings, topic: str) -> AsyncGenerator[Poll, None]:
    raise AssertionError("the directory is given, not read")
    yield  # an async generator, as the port asks


async def ensure_topic(authority: str) -> str:
    return TOPICS.deliveries(authority)


async def never_sent(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int | None = None,
) -> Awaitable[object]:
    raise AssertionError("no control message here")


class Registry:
    """A registry port that knows the resident app's key, caught up for any stamp."""

    def __init__(self) -> None:
        self.view = RegistryView().with_records(
            [
                PublisherRegistered(
                    source=APP, role=Role.RESIDENT_APP, registered_at=T0, registered_by="o"
                ),
                KeyRecorded(
                    source=APP,
                    key_id=APP_KEY.key_id,
                    public_key=APP_KEY.public_key(),
                    added_at=T0,
                    changed_by="o",
                ),
            ]
        )

    async def view_for(self, record_timestamp: dt.datetime) -> RegistryView:
        return self.view.caught_up(record_timestamp)


def processor(
    store: Store,
    registry: Registry | None = None,
    keys: MemoryKeys | None = None,
) -> Processor:
    """A processor over ``store`` (its residents' keys unless ``keys`` are given)."""
    directory = SubscriptionDirectory(SETTINGS, no_follow)
    directory.directory = apply_all(
        [
            SubscriptionChange(
                "s1", WIRRAL, "address", 1, True, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            )
        ]
    )
    return Processor(
        SETTINGS,
        store,
        {},
        directory,
        ensure_topic,
        never_sent,
        keys or store.keys,
        registry=registry,
    )


def inputs(resident: str) -> list[Record]:
    now = dt.datetime.now(dt.UTC)
    grant = build.consent_granted(
        source="urn:org:resident-app",
        resident=resident,
        authority=WIRRAL,
        attributes=["address"],
        purpose="council_tax",
        local_reference="WIR-77",
        now=now,
    )
    claim = build.verified(
        source="urn:gss:E08000012",
        resident=resident,
        attribute="address",
        value=ADDRESS,
        assurance="medium",
        method="council_tax_record",
        verified_at=now - dt.timedelta(minutes=5),
        now=now,
    )
    key = resident.encode()
    return [
        Record(TOPICS.consents, 0, 0, key, schemas.encode(grant)),
        Record(TOPICS.attributes, 0, 0, key, schemas.encode(claim)),
    ]


async def test_a_decision_says_what_to_record_and_what_to_send() -> None:
    """A claim Wirral may see: its outputs are kept under the decision's own outbox entry,
    recorded before the profile (which holds no outbox), and a delivery and audit records
    are to be sent."""
    resident = str(uuid.uuid4())
    store = Store()
    worker = processor(store)
    grant, claim = inputs(resident)
    await worker.handle(grant)
    decision = await worker.handle(claim)
    topics = [topic for topic, *_ in decision.records]
    assert TOPICS.deliveries(WIRRAL) in topics
    assert TOPICS.audit in topics
    assert decision.partition == 0
    ((key, value),) = decision.writes
    assert key == resident.encode()
    assert store.get(key) == value  # the next input sees it at once
    _, outbox = stored.decode_stored(value)
    assert outbox == {}  # the profile alone
    assert orjson.loads(value)[0] == stored.FORMAT
    item = codec.decode_inbound(claim.value)
    assert not isinstance(item, SubscriptionChange)
    assert decision.entry == keeping.entry_id(item)
    ((entry_key, kept),) = decision.kept
    assert entry_key == entries.entry_key(decision.entry)
    assert store.get(entry_key) == kept
    found = entries.decode_entry(kept)
    assert found.changed
    key_now = await store.keys.key_for(resident, create=False)
    sent = [(t, k, v) for t, k, v, _ in decision.records]
    assert entries.opened(key_now, resident, found) == sent
    facts, delivery = found.outputs[0], found.outputs[1]
    assert facts[0] == TOPICS.facts
    assert facts == sent[0]  # sealed already: kept as it is, not sealed again
    assert delivery[0] == TOPICS.deliveries(WIRRAL)
    assert (delivery[2] or b"").startswith(entries.SEALED)  # the delivered value kept sealed


async def test_an_input_seen_again_is_given_the_same_outputs_not_a_second_decision() -> None:
    """After a restart, a recorded input comes again: the outputs are the stored ones, byte
    for byte, its entry and profile are recorded again, and the profile is not changed."""
    resident = str(uuid.uuid4())
    store = Store()
    grant, claim = inputs(resident)
    await processor(store).handle(grant)
    first = await processor(store).handle(claim)
    recorded = dict(store.data)
    again = await processor(store).handle(claim)  # a new worker over the same store
    assert again.entry == first.entry
    assert [(t, k, v) for t, k, v, _ in again.records] == [
        (t, k, v) for t, k, v, _ in first.records
    ]
    assert again.kept == first.kept
    assert again.writes == first.writes
    assert store.data == recorded


async def test_an_entry_recorded_without_its_profile_is_decided_afresh() -> None:
    """A crash after the entry was recorded but before the profile was: the profile never saw
    the input, so the entry is stale; the input is decided again and its entry replaced."""
    resident = str(uuid.uuid4())
    store = Store()
    grant, claim = inputs(resident)
    await processor(store).handle(grant)
    before = dict(store.data)
    first = await processor(store).handle(claim)
    store.data = {**before, **dict(first.kept)}  # the entry, not the profile
    again = await processor(store).handle(claim)
    assert again.writes  # decided afresh: the profile is recorded now
    assert again.entry == first.entry
    assert {t for t, *_ in again.records} == {t for t, *_ in first.records}
    assert stored.decode_profile(store.data[resident.encode()]).sequence == 2


async def test_a_first_format_profile_gives_its_kept_outputs_and_moves_them_to_their_keys() -> None:
    """A store written before entries had keys of their own: an input seen again is given
    the outputs its first-format profile kept, byte for byte; the profile is written again
    in the current format and every kept entry moves under its own key."""
    resident = str(uuid.uuid4())
    store = Store()
    grant, claim = inputs(resident)
    granted = await processor(store).handle(grant)
    decided = await processor(store).handle(claim)
    profile = stored.decode_profile(store.data[resident.encode()])
    grant_id = codec.decode_inbound(grant.value).id
    claim_id = codec.decode_inbound(claim.value).id
    as_text = [(t, (k or b"").decode(), (v or b"").decode()) for t, k, v, _ in decided.records]
    outbox = {claim_id: as_text, grant_id: [("audit", "", '{"a":1}')]}
    store.data = {resident.encode(): first_format.encode_profile(profile, outbox)}
    again = await processor(store).handle(claim)
    assert [(t, k, v) for t, k, v, _ in again.records] == [
        (t, k, v) for t, k, v, _ in decided.records
    ]
    assert again.entry == decided.entry
    assert orjson.loads(store.data[resident.encode()])[0] == stored.FORMAT
    assert sorted(k for k, _ in again.kept) == sorted(
        [entries.entry_key(decided.entry), entries.entry_key(granted.entry)]
    )
    assert all(store.data[k] == v for k, v in again.kept)


async def test_a_poison_input_is_dead_lettered_and_filed_under_its_resident_once() -> None:
    """An invalid record keyed by a resident: a dead letter and a rejection audit, kept in
    the partition's head; seen again, the same audit record, not a second one."""
    resident = str(uuid.uuid4())
    store = Store()
    poison = Record(TOPICS.attributes, 2, 41, resident.encode(), b"{not json")
    first = await processor(store).handle(poison)
    assert first.entry == f"kafka:{TOPICS.attributes}:2:41"
    assert [t for t, *_ in first.records] == [TOPICS.deadletter, TOPICS.audit]
    dead_headers = dict(first.records[0][3] or [])
    assert dead_headers["rps.dlq.reason"] == b"invalid_event"
    again = await processor(store).handle(poison)
    assert again.records[1][:3] == first.records[1][:3]
    assert again.kept == first.kept


async def test_a_poison_input_kept_in_a_first_format_chain_head_is_given_the_same_outputs() -> None:
    """A store written before entries had keys of their own kept a rejection's outputs in its
    partition's chain head: seen again, the input is given those outputs, not new ones."""
    resident = str(uuid.uuid4())
    poison = Record(TOPICS.attributes, 2, 41, resident.encode(), b"{not json")
    entry = f"kafka:{TOPICS.attributes}:2:41"
    head = audit_chain.Head({entry: [(TOPICS.audit, resident, '{"kept":"before"}')]})
    store = Store({audit_chain.head_key(2): audit_chain.encode_head(head)})
    again = await processor(store).handle(poison)
    assert again.records[1][:3] == (TOPICS.audit, resident.encode(), b'{"kept":"before"}')
    assert again.entry == entry
    assert [k for k, _ in again.kept] == [entries.entry_key(entry)]


async def test_enforcing_trust_an_unproven_input_is_refused_and_a_signed_one_names_its_key() -> (
    None
):
    """With a registry, an unsigned consent is dead-lettered as ``unsigned``, audited as
    rejected under its resident with no profile written, and logged on the facts log (sealed)
    for replay to judge again; the same consent signed by the resident app is decided, its
    audit records naming the key (``signed_with``)."""
    resident = str(uuid.uuid4())
    store, keys = Store(), MemoryKeys()
    grant, _ = inputs(resident)
    stamped = replace(grant, timestamp=dt.datetime.now(dt.UTC).timestamp())
    refused = await processor(store, Registry(), keys).handle(stamped)
    assert [t for t, *_ in refused.records] == [TOPICS.deadletter, TOPICS.facts, TOPICS.audit]
    assert dict(refused.records[0][3] or [])["rps.dlq.reason"] == b"unsigned"
    logged = facts_log.decode(refused.records[1][2])
    opened = facts_log.opened(logged, await keys.key_for(resident, create=False))
    assert opened == (stamped.value, [])
    audit = schemas.decode(refused.records[2][2] or b"")
    assert isinstance(audit, schemas.AuditRecorded)
    assert (audit.data.decision, audit.data.reason) == ("rejected", "unsigned")
    assert store.get(resident.encode()) is None
    signed = replace(stamped, value=sign_value(stamped.value or b"", APP_KEY), offset=1)
    decided = await processor(store, Registry()).handle(signed)
    assert store.get(resident.encode()) is not None
    audits = [schemas.decode(v or b"") for t, _, v, _ in decided.records if t == TOPICS.audit]
    assert audits
    assert {a.data.signed_with for a in audits if isinstance(a, schemas.AuditRecorded)} == {
        APP_KEY.key_id
    }
