"""An inbound record too large for its sealed facts log record is refused unread, with its
reason, so one valid but padded event cannot stop the worker at Kafka's record limit."""

from __future__ import annotations

import uuid

from streams.worker import inputs
from tests.unit.streams.test_processor import TOPICS, Record, Store, processor
from tests.unit.streams.test_processor import inputs as inputs_of


def _claim(resident: str) -> bytes:
    """A council's valid address claim about ``resident``, as published."""
    claim = inputs_of(resident)[1]
    assert claim.topic == TOPICS.attributes
    assert claim.value is not None
    return claim.value


async def test_a_valid_event_padded_past_the_bound_with_headers_is_dead_lettered() -> None:
    """A valid claim carrying unknown headers past ``MAX_INPUT_BYTES`` is dead-lettered as
    ``input_too_large`` and nothing else is sent (no facts record, no delivery); the same
    claim without the padding is decided."""
    resident = str(uuid.uuid4())
    value = _claim(resident)
    padding = [("x-padding", b"p" * (inputs.MAX_INPUT_BYTES // 2))] * 2
    padded = Record(TOPICS.attributes, 0, 7, resident.encode(), value, padding)
    assert inputs.input_size(padded) > inputs.MAX_INPUT_BYTES
    refused = await processor(Store()).handle(padded)
    topics = [t for t, *_ in refused.records]
    assert topics[0] == TOPICS.deadletter
    assert TOPICS.facts not in topics
    assert dict(refused.records[0][3] or [])["rps.dlq.reason"] == b"input_too_large"
    plain = Record(TOPICS.attributes, 0, 8, resident.encode(), value)
    decided = await processor(Store()).handle(plain)
    assert TOPICS.deadletter not in [t for t, *_ in decided.records]
