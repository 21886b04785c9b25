"""The audit chain's pure functions: linking, signing, rotation and every kind of break."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from schemas.strategies import audit_recorded
from streams.core import AuditDecision, AuditEntry
from streams.worker import audit_chain, audit_records
from streams.worker.audit_chain import Head, Keys, Stored

KEYS = audit_chain.parse_keys("k2", "current-secret", "k1:retired-secret")
RESIDENT = str(uuid.UUID(int=7))
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        resident=RESIDENT,
        event_id=f"event-{n}",
        event_kind="Claim",
        event_source="E08000012",
        decision=AuditDecision.ACCEPTED,
        attribute="email",
        claim_id=f"event-{n}",
        level=1,
    )


def _trail(count: int, keys: Keys = KEYS, tip: str = audit_chain.GENESIS) -> list[bytes]:
    values = []
    for n in range(count):
        record, tip = audit_chain.chain(audit_records.audit_event(_entry(n), NOW), tip, keys)
        values.append(schemas.encode(record))
    return values


def _stored(values: list[bytes]) -> list[Stored]:
    return [Stored(0, offset, value) for offset, value in enumerate(values)]


def test_an_untouched_trail_verifies() -> None:
    """Records chained one after another verify with no break."""
    assert audit_chain.verify(_stored(_trail(5)), KEYS) is None


def test_a_changed_record_is_named_by_offset() -> None:
    """Editing a field of a stored record breaks its hash: 'changed' at that offset."""
    values = _trail(5)
    values[2] = values[2].replace(b'"email"', b'"phone"')
    assert audit_chain.verify(_stored(values), KEYS) == audit_chain.Break(0, 2, "changed")


def test_a_removed_record_is_found_at_its_successor() -> None:
    """Dropping a record leaves its successor pointing at a hash no record has: 'removed'."""
    values = _trail(5)
    del values[1]
    assert audit_chain.verify(_stored(values), KEYS) == audit_chain.Break(0, 1, "removed")


def test_swapped_records_are_reported_as_reordered() -> None:
    """Two records in swapped places: the first points at a record that comes later."""
    values = _trail(5)
    values[1], values[2] = values[2], values[1]
    assert audit_chain.verify(_stored(values), KEYS) == audit_chain.Break(0, 1, "reordered")


def test_a_rehashed_record_without_the_key_has_a_bad_signature() -> None:
    """A forger who recomputes the hash chain but lacks the key is caught by the signature."""
    forged = audit_chain.parse_keys("k2", "not-the-secret")
    values = _trail(5)
    tail = _trail(5, forged)
    assert audit_chain.verify(_stored(tail), KEYS) == audit_chain.Break(0, 0, "bad_signature")
    assert audit_chain.verify(_stored(values[:1] + tail[1:]), KEYS) is not None


def test_a_record_signed_with_an_unknown_key_is_reported() -> None:
    """A key id the verifier does not hold is its own kind of break."""
    stranger = audit_chain.parse_keys("k9", "elsewhere")
    assert audit_chain.verify(_stored(_trail(2, stranger)), KEYS) == audit_chain.Break(
        0, 0, "unknown_key"
    )


def test_records_signed_before_a_key_rotation_still_verify() -> None:
    """Old records signed with the retired key and new ones with the current key form one
    verifiable chain."""
    old_keys = audit_chain.parse_keys("k1", "retired-secret")
    old = _trail(3, old_keys)
    tip = audit_chain.link_of(old[-1])
    assert tip is not None
    new = _trail(3, KEYS, tip.hash)
    assert audit_chain.verify(_stored(old + new), KEYS) is None
    without_retired = audit_chain.parse_keys("k2", "current-secret")
    assert audit_chain.verify(_stored(old + new), without_retired) == audit_chain.Break(
        0, 0, "unknown_key"
    )


def test_an_exact_resend_is_a_redelivery_not_a_break() -> None:
    """Records resent byte for byte after a crash (the outbox) are skipped, and the chain goes
    on from the last new record."""
    values = _trail(4)
    resent = values[:3] + values[1:3] + values[3:]
    assert audit_chain.verify(_stored(resent), KEYS) is None


def test_a_trail_whose_start_retention_deleted_verifies_from_its_first_record() -> None:
    """With genesis=None the chain is anchored at the oldest record still held."""
    values = _trail(5)[2:]
    assert audit_chain.verify(_stored(values), KEYS) == audit_chain.Break(0, 0, "removed")
    assert audit_chain.verify(_stored(values), KEYS, genesis=None) is None


def test_records_linked_as_they_are_sent_form_one_chain_from_the_partitions_newest() -> None:
    """Unlinked records linked one by one, each after the tip the last left, verify; a worker
    taking over continues from the newest record's hash (the genesis when there is none)."""
    assert audit_chain.tip_of(None) == audit_chain.GENESIS
    tip = audit_chain.GENESIS
    values: list[bytes] = []
    for n in range(4):
        if n == 2:  # a new owner: it knows only what the partition holds
            tip = audit_chain.tip_of(values[-1])
        value, tip = audit_chain.link_bytes(
            audit_records.encode_audit(_entry(n), NOW)[1], tip, KEYS
        )
        values.append(value)
    assert audit_chain.verify(_stored(values), KEYS) is None
    assert audit_chain.tip_of(b"not an audit record") == audit_chain.GENESIS


def test_a_record_resent_after_a_crash_is_linked_afresh_and_still_verifies() -> None:
    """The same decision sent twice (before and after a crash) appears twice, both linked in
    topic order, so verification passes and the duplicate is visible by its event id."""
    unlinked = audit_records.encode_audit(_entry(0), NOW)[1]
    first, tip = audit_chain.link_bytes(unlinked, audit_chain.GENESIS, KEYS)
    again, tip = audit_chain.link_bytes(unlinked, tip, KEYS)
    assert first != again
    assert schemas.decode(first).id == schemas.decode(again).id
    assert audit_chain.verify(_stored([first, again]), KEYS) is None


def test_a_head_keeps_only_its_outbox() -> None:
    """A partition's head round-trips its outbox, and an older head with a tip still reads."""
    head = Head({"event-1": [("topic", "key", "value")]})
    assert audit_chain.decode_head(audit_chain.encode_head(head)) == head
    assert audit_chain.decode_head(b'{"h":"00","o":{}}') == Head()


def test_chain_heads_are_reserved_keys() -> None:
    """A head's table key can never be taken for a resident's."""
    assert audit_chain.is_reserved(audit_chain.head_key(3))
    assert not audit_chain.is_reserved(RESIDENT.encode())


def test_malformed_retired_keys_are_refused_without_echoing_them() -> None:
    """A retired key without an id is refused naming the setting, never the secret."""
    with pytest.raises(ValueError, match="audit_keys") as refused:
        audit_chain.parse_keys("k2", "current", "secret-without-id")
    assert "secret-without-id" not in str(refused.value)


@settings(max_examples=300, deadline=None)
@given(audit_recorded(), st.sampled_from([audit_chain.GENESIS, "ab" * 32]))
def test_linking_bytes_gives_exactly_what_linking_the_model_gives(
    record: schemas.AuditRecorded, previous: str
) -> None:
    """The byte splice the worker uses at send time equals, byte for byte, linking the decoded
    model with ``chain``, whether the record arrives unlinked or already linked."""
    expected, expected_hash = audit_chain.chain(record, previous, KEYS)
    linked, hash_ = audit_chain.link_bytes(schemas.encode(record), previous, KEYS)
    assert (linked, hash_) == (schemas.encode(expected), expected_hash)
    assert audit_chain.verify(_stored([linked]), KEYS, genesis=None) is None
