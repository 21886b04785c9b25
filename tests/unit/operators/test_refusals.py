"""Replay derives the very audit record the worker writes for a refused subscription change:
the same id and content, its time and chain aside; another reason, or another subject, is a
difference, except the one pair of reasons a later registry view may give."""

from __future__ import annotations

import dataclasses
import datetime as dt

import schemas
from streams.core import AuditEntry
from streams.operators.refusals import Refusals, refusal_entry, same_record
from streams.worker import audit_chain, audit_records
from tests.unit.streams.test_processor import Record, Store
from tests.unit.streams.test_subscription_refusals import (
    LIVERPOOL,
    WIRRAL,
    Registry,
    processor,
    subscription,
)

KEYS = audit_chain.Keys("k1", {"k1": b"secret"})


async def worker_record(
    authority: str, *, sign: bool = True
) -> tuple[Record, schemas.AuditRecorded]:
    """A refused change's record, and the audit record the worker sends for it, linked."""
    _, record = subscription(authority, sign=sign)
    decision = await processor(Store(), Registry()).handle(record)
    (_, _, value, _) = decision.records[1]
    linked, _ = audit_chain.link_bytes(value or b"", audit_chain.GENESIS, KEYS)
    live = schemas.decode(linked)
    assert isinstance(live, schemas.AuditRecorded)
    return record, live


def replayed(record: Record) -> AuditEntry | None:
    """The entry replay derives for ``record`` as it reads it (a timestamp in milliseconds)."""
    stamp = dt.datetime.fromtimestamp(record.timestamp, dt.UTC)
    as_read = dataclasses.replace(record, timestamp=round(record.timestamp * 1000))
    return refusal_entry(as_read, stamp, Registry().view)


async def test_replay_derives_the_record_the_worker_wrote() -> None:
    """For a change to another authority's subscription and for an unsigned one, the entry
    replay derives has the worker's record's id and, time and chain aside, its content."""
    for authority, sign in ((WIRRAL, True), (LIVERPOOL, False)):
        record, live = await worker_record(authority, sign=sign)
        entry = replayed(record)
        assert entry is not None
        assert audit_records.audit_id(entry) == live.id
        assert same_record(live, entry)


async def test_an_admitted_change_and_a_tombstone_are_not_refusals() -> None:
    """Liverpool's own signed change, and a compaction tombstone, have no audit record."""
    _, own = subscription(LIVERPOOL)
    assert replayed(own) is None
    assert replayed(dataclasses.replace(own, value=None)) is None


async def test_another_reason_or_subject_is_a_difference_but_a_later_views_reason_is_not() -> None:
    """A live record with another reason or filed under another subject is not the replayed
    one; ``unknown_key`` live against ``key_not_yet_valid`` replayed is the same refusal."""
    record, live = await worker_record(WIRRAL)
    entry = replayed(record)
    assert entry is not None
    assert not same_record(live, dataclasses.replace(entry, reason="unsigned"))
    assert not same_record(live.model_copy(update={"subject": LIVERPOOL}), entry)
    unknown = live.model_copy(
        update={"data": live.data.model_copy(update={"reason": "unknown_key"})}
    )
    assert same_record(unknown, dataclasses.replace(entry, reason="key_not_yet_valid"))


def test_audited_counts_what_is_neither_missing_nor_unchecked() -> None:
    """Of five refusals, one missing and one unchecked leave three audited as replayed."""
    assert Refusals(5, ("0:4",), 1).audited == 3
