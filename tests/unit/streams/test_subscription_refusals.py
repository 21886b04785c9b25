"""Refused subscription changes in the processor, over in-memory ports: the group's reader of a
subscriptions partition dead-letters each refusal with its reason and audits it as rejected
under the authority it names, once (a redelivery gets the same audit record); an admitted
change and a change with trust off leave nothing to do, since every directory applies them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

import schemas
from producers import events as build
from rps.settings import Settings
from schemas.registry import KeyRecorded, PublisherRegistered, RegistryView, Role
from schemas.signing import SigningKey, sign_value
from streams.worker import entries
from streams.worker.directory import SubscriptionDirectory
from streams.worker.outbox import Decision
from streams.worker.processor import Processor
from tests.unit.streams.memory_keys import MemoryKeys
from tests.unit.streams.test_processor import (
    TOPICS,
    Record,
    Store,
    ensure_topic,
    never_sent,
    no_follow,
)

pytestmark = pytest.mark.asyncio

LIVERPOOL, WIRRAL = "E08000012", "E08000015"
COUNCIL = "urn:gss:E08000012"
COUNCIL_KEY = SigningKey.generate(f"{COUNCIL}#a")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Registry:
    """A registry port that knows Liverpool, a local authority, and its key."""

    def __init__(self) -> None:
        self.view = RegistryView().with_records(
            [
                PublisherRegistered(
                    source=COUNCIL, role=Role.LOCAL_AUTHORITY, registered_at=T0, registered_by="o"
                ),
                KeyRecorded(
                    source=COUNCIL,
                    key_id=COUNCIL_KEY.key_id,
                    public_key=COUNCIL_KEY.public_key(),
                    added_at=T0,
                    changed_by="o",
                ),
            ]
        )

    async def view_for(self, record_timestamp: dt.datetime) -> RegistryView:
        return self.view.caught_up(record_timestamp)


def processor(store: Store, registry: Registry | None = None) -> Processor:
    return Processor(
        Settings(),
        store,
        {},
        SubscriptionDirectory(Settings(), no_follow),
        ensure_topic,
        never_sent,
        MemoryKeys(),
        registry=registry,
    )


def subscription(
    authority: str, *, sign: bool = True, offset: int = 7
) -> tuple[schemas.SubscriptionChanged, Record]:
    """Liverpool's change to ``authority``'s email subscription, as a record of partition 3."""
    now = dt.datetime.now(dt.UTC)
    event = build.subscription_changed(
        source=COUNCIL,
        authority=authority,
        attribute="email",
        minimum_assurance="low",
        active=True,
        now=now,
    )
    value = schemas.encode(event)
    if sign:
        value = sign_value(value, COUNCIL_KEY)
    key = f"{authority}|email".encode()
    return event, Record(TOPICS.subscriptions, 3, offset, key, value, None, now.timestamp())


def refused(decision: Decision) -> tuple[str, schemas.AuditRecorded, bytes | None]:
    """The dead letter's reason, the audit record and its key, of a refused change."""
    (dead_topic, _, _, headers), (audit_topic, key, value, _) = decision.records
    assert (dead_topic, audit_topic) == (TOPICS.deadletter, TOPICS.audit)
    audit = schemas.decode(value or b"")
    assert isinstance(audit, schemas.AuditRecorded)
    return dict(headers or [])["rps.dlq.reason"].decode(), audit, key


async def test_a_change_for_another_authority_is_dead_lettered_and_audited_under_it() -> None:
    """Liverpool's correctly signed change to Wirral's subscription: dead-lettered as
    ``not_own_subscription`` and audited as rejected under Wirral, naming the event, its
    source, the attribute and the assurance asked for, on the record's own partition."""
    store = Store()
    event, record = subscription(WIRRAL)
    decision = await processor(store, Registry()).handle(record)
    reason, audit, key = refused(decision)
    assert reason == "not_own_subscription"
    assert key == WIRRAL.encode()
    assert audit.subject == audit.data.authority == WIRRAL
    assert (audit.data.decision, audit.data.reason) == ("rejected", "not_own_subscription")
    assert (audit.data.event_id, audit.data.event_type) == (event.id, schemas.SUBSCRIPTION_CHANGED)
    assert audit.data.event_source == COUNCIL
    assert (audit.data.attribute, audit.data.assurance) == ("email", "low")
    assert decision.partition == 3
    assert decision.entry == f"kafka:{TOPICS.subscriptions}:3:7"
    ((kept_key, kept),) = decision.kept
    assert kept_key == entries.entry_key(decision.entry)
    assert store.get(kept_key) == kept, "the audit is kept under its own entry until sent"
    assert entries.decode_entry(kept).outputs == [(t, k, v) for t, k, v, _ in decision.records[1:]]


async def test_a_refusal_seen_again_gets_the_same_audit_record_not_a_second_one() -> None:
    """After a restart the same record comes again: the audit record kept in its entry is
    given again, byte for byte, so its id (and content) is the one already decided."""
    store = Store()
    _, record = subscription(WIRRAL)
    first = await processor(store, Registry()).handle(record)
    again = await processor(store, Registry()).handle(record)  # a new worker, the same store
    assert again.entry == first.entry
    assert again.records[1][:3] == first.records[1][:3]


async def test_an_unsigned_change_is_refused_as_unsigned_even_for_its_own_authority() -> None:
    """No signature, no effect: an unsigned change naming the sender's own authority is
    dead-lettered and audited as ``unsigned`` under that authority."""
    _, record = subscription(LIVERPOOL, sign=False)
    reason, audit, key = refused(await processor(Store(), Registry()).handle(record))
    assert reason == "unsigned"
    assert key == LIVERPOOL.encode()
    assert (audit.data.decision, audit.data.reason) == ("rejected", "unsigned")


async def test_an_admitted_change_or_a_tombstone_leaves_nothing_to_record_or_send() -> None:
    """Liverpool's own signed change is admitted: no output, no write (every worker's
    directory applies it); a tombstone (compaction removing a key) is no refusal either."""
    store = Store()
    _, record = subscription(LIVERPOOL)
    for read in (record, replace(record, value=None)):
        decision = await processor(store, Registry()).handle(read)
        assert (decision.records, decision.writes, decision.kept, decision.entry) == (
            [],
            [],
            [],
            "",
        )
    assert store.data == {}


async def test_other_events_on_the_subscriptions_topic_are_dead_lettered_as_misplaced() -> None:
    """A signed claim sent to the subscriptions topic is ``wrong_topic``: dead-lettered and,
    naming no authority's subscription, not audited."""
    claim = build.verified(
        source=COUNCIL,
        resident="0b6f8a51-4f6c-4d31-9d2b-3f0d8a1c2e4f",
        attribute="email",
        value="a@example.org",
        assurance="medium",
        method="confirmation_link",
        verified_at=T0,
        now=dt.datetime.now(dt.UTC),
    )
    value = sign_value(schemas.encode(claim), COUNCIL_KEY)
    stamp = dt.datetime.now(dt.UTC).timestamp()
    record = Record(TOPICS.subscriptions, 0, 1, b"E08000012|email", value, None, stamp)
    decision = await processor(Store(), Registry()).handle(record)
    ((topic, _, _, headers),) = decision.records
    assert topic == TOPICS.deadletter
    assert dict(headers or [])["rps.dlq.reason"] == b"wrong_topic"


async def test_with_trust_off_a_change_is_left_to_the_directories_and_a_bad_one_dead_lettered() -> (
    None
):
    """Without a registry every valid change is the directories' to apply (nothing here, even
    for another authority); a record that is no event is dead-lettered as ``invalid_event``."""
    _, record = subscription(WIRRAL, sign=False)
    decision = await processor(Store()).handle(record)
    assert (decision.records, decision.writes) == ([], [])
    broken = Record(TOPICS.subscriptions, 1, 2, b"E08000015|email", b"{not json")
    ((topic, _, _, headers),) = (await processor(Store()).handle(broken)).records
    assert topic == TOPICS.deadletter
    assert dict(headers or [])["rps.dlq.reason"] == b"invalid_event"
