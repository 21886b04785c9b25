"""Which residents a fetched batch names, for their keys to be read ahead."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from schemas.topics import Topics
from streams.runtime.read_ahead import residents


def test_only_the_inbound_topics_record_keys_that_can_be_resident_ids_are_read_ahead() -> None:
    topics = Topics("rps")
    inbound = frozenset((topics.attributes, topics.consents, topics.control))

    def tp(topic: str) -> TP:
        return TP(topic, 0)

    def records(*keys: object) -> list[SimpleNamespace]:
        return [SimpleNamespace(key=key) for key in keys]

    fetched = {
        tp(topics.attributes): records(b"r-1", None, b"", b"\xff\xfe", b"x" * 65, b"r-2"),
        tp(topics.consents): records(b"r-1", b"r-3"),
        tp(topics.subscriptions): records(b"bury"),
        tp(topics.control): records(b"r-4"),
    }
    assert list(residents(fetched, inbound)) == ["r-1", "r-2", "r-1", "r-3", "r-4"]
