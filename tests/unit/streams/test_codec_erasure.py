"""The codec's part in erasure: the instruction on the control topic, the erased profile, the
records an erasure decides, all valid against their contracts."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from hypothesis import given

import schemas
from rps.sealing import new_data_key
from streams.core import Directory, Erase, Fact, Profile, Reevaluate, decide, decide_all
from streams.worker import audit_records, codec, entries, keeping, stored
from tests.unit.core.strategies import NOW, RESIDENT, directories, worlds
from tests.unit.streams import first_format

NOW_UTC = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
KEY = b"pseudonym-key"


@pytest.mark.parametrize(
    "item",
    [Erase("erase:1", RESIDENT, "resident_request"), Reevaluate("expiry:1", RESIDENT, "expiry")],
)
def test_control_instructions_survive_the_control_encoding(item: Erase | Reevaluate) -> None:
    """An erasure and a re-evaluation come back from the control topic as themselves."""
    assert codec.decode_control(codec.encode_control(item)) == item


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b"{}", b'{"type": "uk.gov.rps.control.other.v1", "id": 1}']
)
def test_a_control_message_not_written_by_the_hub_is_refused(raw: bytes) -> None:
    """Anything else on the control topic is a ControlError (dead-lettered by the worker)."""
    with pytest.raises(codec.ControlError):
        codec.decode_control(raw)


@given(worlds(), directories())
def test_an_erasure_encodes_to_valid_records_and_an_erased_profile_survives_storage(
    facts: list[Fact], directory: Directory
) -> None:
    """Endings (reason erased) and audit entries are valid contract records; the erased
    profile, ids and all, round-trips through the table encoding."""
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    erased = decide(profile, Erase("erase:1", RESIDENT, "resident_request"), directory, NOW)
    for ending in erased.endings:
        _, value = codec.encode_ending(ending, KEY, NOW_UTC)
        event = schemas.decode(value)
        assert isinstance(event, schemas.ConsentEnded)
        assert event.data.reason == "erased"
    for entry in erased.audit:
        assert audit_records.audit_event(entry, NOW_UTC).data.event_type == (
            "uk.gov.rps.control.erase.v1"
        )
    raw = stored.encode_profile(erased.profile)
    assert stored.decode_profile(raw) == erased.profile
    document = orjson.loads(raw)  # no claim, consent or holding left in the stored bytes
    assert document[0] == stored.FORMAT
    assert (document[3], document[4], document[5], document[6], document[8]) == ([], [], [], [], {})


@given(worlds(), directories())
def test_sealed_profiles_hold_no_claim_value_and_open_with_the_residents_key(
    facts: list[Fact], directory: Directory
) -> None:
    """With the resident's key every claim value is stored sealed, read back sealed (stored
    again as it is), and opened only with that key; with the key gone the values stay sealed
    (opaque) and the lattice state is the same."""
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    key = new_data_key()
    raw = stored.encode_profile(profile, key)
    for claim in profile.state.claims.values():
        assert orjson.dumps(claim.value) not in raw
    sealed, box = stored.decode_stored(raw)
    assert box == {}
    assert stored.state_digest(sealed.state) == stored.state_digest(profile.state)
    assert stored.encode_profile(sealed, key) == raw  # sealed once, kept as it is
    for claim in sealed.state.claims.values():
        assert set(claim.value) == {stored.SEALED}
        original = profile.state.claims[claim.id].value
        assert stored.opened_value(key, claim.value, RESIDENT, claim.id) == original
        assert stored.opened_value(new_data_key(2), claim.value, RESIDENT, claim.id) == claim.value


def test_a_kept_entry_is_sealed_with_the_residents_key_and_opens_only_with_it() -> None:
    """An outbox entry kept under the resident's key holds no output value in the clear and
    opens to the same bytes with that key; with another (the key erased) it stays sealed; an
    erasure's own entry, kept without a key, stays readable."""
    key = new_data_key()
    outputs: list[tuple[str, bytes | None, bytes | None]] = [
        ("deliveries", b"k", b'{"value":"canary-outbox"}'),
        ("audit", None, None),
    ]
    raw = entries.encode_entry(outputs, True, "in-1", key, RESIDENT)
    assert b"canary-outbox" not in raw
    kept = entries.decode_entry(raw)
    assert (kept.changed, kept.bound) == (True, "in-1")
    assert entries.opened(key, RESIDENT, kept) == outputs
    assert entries.opened(new_data_key(2), RESIDENT, kept) == kept.outputs != outputs
    assert entries.decode_entry(entries.encode_entry(kept.outputs, True, "in-1", key)) == kept
    plain = entries.encode_entry(outputs, False, "in-1")
    assert b"canary-outbox" in plain
    assert entries.decode_entry(plain).outputs == outputs


@given(worlds(), directories())
def test_a_first_format_sealed_outbox_opens_once_moved_under_its_own_key(
    facts: list[Fact], directory: Directory
) -> None:
    """A sealed outbox kept inside a first-format profile, moved under its own key as the
    worker moves it, opens with the resident's key to the outputs that were kept."""
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    key = new_data_key()
    outbox = {"in-1": [("deliveries", "k", '{"value":"canary-outbox"}')]}
    raw = first_format.encode_profile(profile, outbox, key)
    assert b"canary-outbox" not in raw
    again, box = stored.decode_stored(raw)
    ((entry_key, value),) = keeping.carried(again, box)
    assert entry_key == entries.entry_key(f"{RESIDENT}|in-1|")
    assert b"canary-outbox" not in value
    opened = entries.opened(key, RESIDENT, entries.decode_entry(value))
    assert opened == [("deliveries", b"k", b'{"value":"canary-outbox"}')]
