"""The pull feed's cursor: opaque, round-trips, and refuses what the gateway never issued."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.gateway.feed import BadCursor, decode_cursor, encode_cursor


@given(st.dictionaries(st.integers(0, 1023), st.integers(0, 2**53)))
def test_a_cursor_stands_for_the_positions_it_was_made_from(positions: dict[int, int]) -> None:
    """Any positions survive encoding; the cursor is URL-safe text."""
    cursor = encode_cursor(positions)
    assert cursor.startswith("c1.")
    assert all(c.isalnum() or c in "-_." for c in cursor)
    assert decode_cursor(cursor) == positions


def test_no_cursor_means_from_the_beginning() -> None:
    """Without `after` every partition is read from its start."""
    assert decode_cursor(None) == {} == decode_cursor("")


@pytest.mark.parametrize(
    "cursor",
    [
        "nope",
        "c1.!!!",
        "c1." + base64.urlsafe_b64encode(b'{"p": 1}').decode(),
        "c1." + base64.urlsafe_b64encode(b"[[0, -1]]").decode(),
        "c1." + base64.urlsafe_b64encode(b"[[0, 1, 2]]").decode(),
        "c1." + base64.urlsafe_b64encode(b"[[true, 1]]").decode(),
    ],
)
def test_a_cursor_the_gateway_never_issued_is_refused(cursor: str) -> None:
    """Garbage, other shapes, negative offsets: BadCursor (the route answers 400)."""
    with pytest.raises(BadCursor):
        decode_cursor(cursor)
