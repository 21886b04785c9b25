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
from streams.worker import audit_records, codec, stored
from tests.unit.core.strategies import NOW, RESIDENT, directories, worlds

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
    assert (document["c"], document["x"], document["g"], document["w"], document["h"]) == (
        [],
        [],
        [],
        [],
        {},
    )


@given(worlds(), directories())
def test_sealed_profiles_hold_no_claim_value_and_open_with_the_residents_key(
    facts: list[Fact], directory: Directory
) -> None:
    """With the resident's key every claim value and kept output is stored sealed, read back
    sealed (stored again as it is), and opened only with that key; with the key gone the
    values stay sealed (opaque) and the lattice state is the same."""
    outcomes = decide_all(Profile(RESIDENT), facts, directory, NOW)
    profile = outcomes[-1].profile if outcomes else Profile(RESIDENT)
    key = new_data_key()
    outbox = {"in-1": [("deliveries", "k", '{"value":"canary-outbox"}')]}
    raw = stored.encode_profile(profile, outbox, key)
    for claim in profile.state.claims.values():
        assert orjson.dumps(claim.value) not in raw
    assert b"canary-outbox" not in raw
    sealed, box = stored.decode_stored(raw)
    assert stored.state_digest(sealed.state) == stored.state_digest(profile.state)
    assert stored.encode_profile(sealed, box, key) == raw  # sealed once, kept as it is
    for claim in sealed.state.claims.values():
        assert set(claim.value) == {stored.SEALED}
        original = profile.state.claims[claim.id].value
        assert stored.opened_value(key, claim.value, RESIDENT, claim.id) == original
        assert stored.opened_value(new_data_key(2), claim.value, RESIDENT, claim.id) == claim.value
    assert stored.opened_entry(key, RESIDENT, "in-1", box["in-1"]) == outbox["in-1"]
    assert stored.opened_entry(new_data_key(2), RESIDENT, "in-1", box["in-1"]) == box["in-1"]
    kept_plain = stored.encode_profile(profile, outbox, key, frozenset({"in-1"}))
    assert b"canary-outbox" in kept_plain  # an erasure's own outputs stay readable
