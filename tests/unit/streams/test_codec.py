"""The codec: the one place bytes become core values and back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas
from schemas import strategies
from streams.core import (
    EMPTY,
    AuditDecision,
    AuditEntry,
    Claim,
    Delivery,
    Directory,
    Fact,
    Profile,
    Reevaluate,
    SubscriptionChange,
    decide_all,
    fold,
    rejection,
    subscription_rejection,
)
from streams.worker import audit_records, codec, stored
from streams.worker.errors import OutputRejected
from tests.unit.core.strategies import NOW, RESIDENT, directories, worlds
from tests.unit.streams import first_format

NOW_UTC = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@given(worlds(), directories())
def test_a_profile_survives_the_table_encoding_and_is_smaller_than_the_first_format(
    facts: list[Fact], directory: Directory
) -> None:
    """encode_profile/decode_stored give back the same profile, with no outbox inside it, in
    fewer bytes than the first format took for the same profile."""
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    raw = stored.encode_profile(profile)
    again, box = stored.decode_stored(raw)
    assert again == profile
    assert again.state.seen == profile.state.seen
    assert box == {}
    assert stored.decode_profile(raw) == profile
    assert stored.state_digest(again.state) == stored.state_digest(profile.state)
    assert len(raw) <= len(first_format.encode_profile(profile))


@given(worlds(), directories())
def test_a_profile_of_the_first_format_is_read_as_it_is_with_its_outbox(
    facts: list[Fact], directory: Directory
) -> None:
    """A value written before the compact format decodes to the same profile and gives its
    outbox back (as bytes), so stores need no migration."""
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    raw = first_format.encode_profile(profile, {"e1": [("t", "k", '{"v":1}')]})
    again, box = stored.decode_stored(raw)
    assert again == profile
    assert box == {"e1": [("t", b"k", b'{"v":1}')]}
    assert stored.decode_profile(raw) == profile
    assert stored.decode_profile(stored.encode_profile(again)) == profile


def test_an_instant_keeps_its_offset_and_microseconds_through_the_table_encoding() -> None:
    """Instants in UTC are stored as integers, others as text, and both come back exactly
    (an output built from them again writes them as before)."""
    paris = dt.timezone(dt.timedelta(hours=1))
    for verified_at in (
        dt.datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 1, 13, 0, 0, 1, tzinfo=paris),
    ):
        claim = Claim("c1", RESIDENT, "email", "a@example.org", 1, "src", "m", verified_at, "d")
        state = fold(EMPTY, claim)
        again = stored.decode_profile(stored.encode_profile(Profile(RESIDENT, state)))
        kept = again.state.claims["c1"].verified_at
        assert (kept, kept.utcoffset(), kept.isoformat()) == (
            verified_at,
            verified_at.utcoffset(),
            verified_at.isoformat(),
        )


@given(strategies.inbound_events())
def test_every_valid_inbound_event_becomes_a_core_value(event: schemas.Event) -> None:
    """Decoding an inbound event's bytes yields the core value with its id and a fingerprint."""
    fact = codec.decode_inbound(schemas.encode(event))
    assert fact.id == event.id
    assert getattr(fact, "digest", "x")


def test_the_pseudonym_is_stable_per_authority_and_hides_the_resident() -> None:
    """The same resident gets one pseudonym per authority, different across authorities."""
    key = b"secret"
    a = codec.pseudonym(key, "E08000012", RESIDENT)
    assert a == codec.pseudonym(key, "E08000012", RESIDENT)
    assert a != codec.pseudonym(key, "E08000015", RESIDENT)
    assert a != codec.pseudonym(b"other", "E08000012", RESIDENT)
    assert RESIDENT not in a


def test_a_delivery_carries_the_local_reference_and_no_hub_id() -> None:
    """A profile.updated record is keyed by the pseudonym and never names the hub resident id."""
    claim = Claim("c1", RESIDENT, "email", "someone@example.org", 1, "E08000012", "m", NOW_UTC, "d")
    delivery = Delivery("d-1", RESIDENT, "urn:org:dwp", "DWP-1", "email", claim, 3)
    key, value = codec.encode_delivery(delivery, b"secret", NOW_UTC)
    event = schemas.decode(value)
    assert isinstance(event, schemas.ProfileUpdated)
    assert event.data.local_reference == "DWP-1"
    assert key.decode() == event.subject
    assert RESIDENT.encode() not in key + value


def test_an_output_that_breaks_its_contract_names_fields_not_values() -> None:
    """A refused output says where and which rule, and never repeats the value."""
    claim = Claim(
        "c1", RESIDENT, "email", "not-an-email-PLANTED", 1, "E08000012", "m", NOW_UTC, "d"
    )
    delivery = Delivery("d-1", RESIDENT, "urn:org:dwp", "DWP-1", "email", claim, 3)
    with pytest.raises(OutputRejected) as raised:
        codec.encode_delivery(delivery, b"secret", NOW_UTC)
    assert "data.value" in str(raised.value)
    assert "PLANTED" not in str(raised.value)


def test_audit_records_of_re_evaluations_are_valid() -> None:
    """Audit entries caused by expiry re-evaluations encode to valid audit records."""
    entry = AuditEntry(
        AuditDecision.CONSENT_ENDED,
        RESIDENT,
        "expiry:0123456789abcdef0123456789abcdef",
        "Reevaluate",
        "",
        reason="expired",
        attribute="address",
        authority="E08000015",
        decision_id="d-2",
        version=4,
    )
    _, value = audit_records.encode_audit(entry, NOW_UTC)
    record = schemas.decode(value)
    assert isinstance(record, schemas.AuditRecorded)
    assert record.data.event_source == schemas.HUB_SOURCE


def test_the_core_and_the_contract_share_one_audit_vocabulary() -> None:
    """Every decision the core can take is a value the audit contract accepts, and vice versa."""
    assert {d.value for d in AuditDecision} == {d.value for d in schemas.AuditDecision}


_OFFSETS = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=-3, minutes=-30))]
)
_PAST = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2026, 1, 1))


@given(worlds(), directories(), _PAST, _OFFSETS)
def test_audit_records_built_directly_are_exactly_what_the_contract_model_gives(
    facts: list[Fact], directory: Directory, when: dt.datetime, offset: dt.tzinfo
) -> None:
    """Every audit entry the core decides (and every rejection) encodes, without pydantic, to
    the very bytes the ``AuditRecorded`` model validates and writes."""
    now = when.replace(tzinfo=offset)
    items = [*facts, Reevaluate("expiry:0123456789abcdef0123456789abcdef", RESIDENT, "expiry")]
    entries = [
        entry
        for outcome in decide_all(Profile(RESIDENT), items, directory, NOW)
        for entry in outcome.audit
    ]
    entries.append(
        rejection(RESIDENT, "kafka:rps.attributes.v1:3:17", "Rejected", "", "wrong_topic")
    )
    for entry in entries:
        key, fast = audit_records.encode_audit(entry, now)
        assert key == RESIDENT.encode()
        assert fast == schemas.encode(audit_records.audit_event(entry, now))
        assert fast == audit_records.encode_audit(entry, codec.instant(now))[1]


@given(strategies.subscription_changed(), st.sampled_from(["unsigned", "not_own_subscription"]))
def test_a_refused_subscription_change_is_audited_under_its_authority_as_the_model_writes_it(
    event: schemas.SubscriptionChanged, reason: str
) -> None:
    """Any refused subscription change encodes, without the model, to the very bytes the
    ``AuditRecorded`` model writes: keyed by, and about, the authority it names, with the
    event's type and source and the minimum assurance it asked for."""
    change = codec.to_fact(event)
    assert isinstance(change, SubscriptionChange)
    entry = subscription_rejection(change, schemas.authority_of_source(event.source), reason)
    key, fast = audit_records.encode_audit(entry, NOW_UTC)
    assert key == event.data.authority.encode()
    assert fast == schemas.encode(audit_records.audit_event(entry, NOW_UTC))
    record = schemas.decode(fast)
    assert isinstance(record, schemas.AuditRecorded)
    assert record.subject == record.data.authority == event.data.authority
    assert (record.data.decision, record.data.reason) == ("rejected", reason)
    assert (record.data.event_type, record.data.event_source) == (event.type, event.source)
    assert record.data.assurance == event.data.minimum_assurance


@given(
    st.one_of(st.none(), strategies.attribute_verified()),
    strategies.authorities(),
    strategies.local_references(),
    st.integers(1, 10_000),
    _PAST,
    _OFFSETS,
)
def test_deliveries_built_directly_are_exactly_what_the_contract_model_gives(
    claimed: schemas.AttributeVerified | None,
    authority: str,
    reference: str,
    version: int,
    when: dt.datetime,
    offset: dt.tzinfo,
) -> None:
    """A delivery of any valid claim (or of none) encodes, without the model, to the very bytes
    the ``ProfileUpdated`` model validates and writes."""
    claim = codec.to_fact(claimed) if claimed is not None else None
    assert claim is None or isinstance(claim, Claim)
    attribute = claim.attribute if claim else "email"
    delivery = Delivery("d-1", RESIDENT, authority, reference, attribute, claim, version)
    now = when.replace(tzinfo=offset)
    key, fast = codec.encode_delivery(delivery, b"secret", now)
    assert key.decode() == codec.pseudonym(b"secret", authority, RESIDENT)
    assert fast == schemas.encode(codec.delivery_event(delivery, b"secret", now))
