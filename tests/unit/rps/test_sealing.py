"""Sealing: what is sealed opens only for its resident and event, and never once the key is gone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rps.sealing import (
    KeyForgotten,
    SealBroken,
    is_sealed,
    new_data_key,
    open_sealed,
    seal,
    sealed_version,
)

KEY = new_data_key()
ids = st.text(min_size=1, max_size=40)
values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(values, ids, ids)
def test_a_sealed_value_opens_to_itself(value: Any, resident: str, event_id: str) -> None:
    """open(seal(x)) == x for every JSON value, resident and event."""
    envelope = seal(KEY, value, resident, event_id)
    assert is_sealed(envelope)
    assert sealed_version(envelope) == KEY.version
    assert open_sealed(KEY, envelope, resident, event_id) == value


@given(values, ids, ids, ids)
def test_a_sealed_value_does_not_open_for_another_resident(
    value: Any, resident: str, other: str, event_id: str
) -> None:
    """The resident's id is bound as associated data: another resident's id fails."""
    if other == resident:
        return
    envelope = seal(KEY, value, resident, event_id)
    with pytest.raises(SealBroken):
        open_sealed(KEY, envelope, other, event_id)


@given(values, ids, ids, ids)
def test_a_sealed_value_does_not_open_for_another_event(
    value: Any, resident: str, event_id: str, other: str
) -> None:
    """The event's id is bound as associated data: another event's id fails."""
    if other == event_id:
        return
    envelope = seal(KEY, value, resident, event_id)
    with pytest.raises(SealBroken):
        open_sealed(KEY, envelope, resident, other)


@given(values)
def test_a_forgotten_key_opens_nothing(value: Any) -> None:
    """Once the key is gone (None) or replaced by a later version, the envelope is shredded."""
    envelope = seal(KEY, value, "r", "e")
    with pytest.raises(KeyForgotten):
        open_sealed(None, envelope, "r", "e")
    with pytest.raises(KeyForgotten):
        open_sealed(new_data_key(KEY.version + 1), envelope, "r", "e")


def test_another_key_of_the_same_version_does_not_open() -> None:
    """A key that is not the one sealed with fails as broken, not as a wrong value."""
    envelope = seal(KEY, "canary", "r", "e")
    with pytest.raises(SealBroken):
        open_sealed(new_data_key(KEY.version), envelope, "r", "e")


@pytest.mark.parametrize("envelope", ["", "s1.1.x", "s1.one.a.b", "x1.1.a.b", "s1.1.!!.??"])
def test_a_malformed_envelope_is_broken(envelope: str) -> None:
    """Anything that is not an envelope is refused with a precise error."""
    with pytest.raises(SealBroken):
        open_sealed(KEY, envelope, "r", "e")


def test_the_envelope_holds_no_plain_text_and_no_key() -> None:
    """Neither the value nor the key material appears in the envelope or the key's repr."""
    envelope = seal(KEY, "canary-value-123", "r", "e")
    assert "canary" not in envelope
    assert KEY.secret.hex() not in repr(KEY)
