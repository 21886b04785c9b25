"""The residents' data keys read ahead, as the consumer fetches their inputs.

Each fetch the consumer makes hands a batch of records to the agent one by one.
As the batch arrives, the keys of the residents it names (the record keys of the
attributes, consents and control topics) are read in one statement, in the
background (:meth:`streams.worker.keys.CachedKeys.read_ahead`), so that deciding
each input finds its resident's key cached instead of asking the key store for
it. A record whose key is not a resident id costs a look-up that finds nothing;
nothing is made for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from schemas.topics import Topics
from streams.worker.keys import CachedKeys

_LONGEST = 64  # a resident id is at most this long (the key store's column)


def on_fetch(topics: Topics, keys: CachedKeys) -> Callable[[Mapping[Any, Sequence[Any]]], None]:
    """What to do with each batch the consumer fetches (the stall guard, which wraps the
    fetch, shows it every batch): start reading its residents' keys."""
    inbound = frozenset((topics.attributes, topics.consents, topics.control))

    def fetched(records: Mapping[Any, Sequence[Any]]) -> None:
        keys.read_ahead(residents(records, inbound))

    return fetched


def residents(records: Mapping[Any, Sequence[Any]], inbound: frozenset[str]) -> Iterator[str]:
    """The resident ids a fetched batch names, in its order (duplicates included)."""
    for tp, batch in records.items():
        if tp.topic not in inbound:
            continue
        for record in batch:
            key = record.key
            if isinstance(key, bytes) and 0 < len(key) <= _LONGEST:
                try:
                    yield key.decode()
                except UnicodeDecodeError:
                    continue
