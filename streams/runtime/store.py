"""The worker's tables as the worker's logic sees them: a profile store that does not record.

The stages record the profile table's changelog themselves (record, then send,
then ack), so writes go to the table's local store (``table.data``), past the
Table's own changelog write; and, as Faust's own changelog writes do, a
RocksDB store is told the changelog offset it now holds (``set_persisted_offset``),
so a restart reads the changelog only from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from faust.types import TP, TableT


class TableStore:
    """A :class:`~streams.worker.ports.ProfileStore` over a Faust table of bytes."""

    def __init__(self, table: TableT[bytes, bytes]) -> None:
        self._table = table
        self.changelog: str = table.changelog_topic.get_topic_name()

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._table.get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        self._table.data[key] = value  # the local store: no changelog write of Faust's own

    def delete(self, key: bytes) -> None:
        """Drop ``key`` from the local store (its changelog tombstone is the stages' job)."""
        self._table.data.pop(key, None)

    def items(self) -> Iterable[tuple[bytes, bytes | None]]:
        return list(self._table.data.items())

    def persisted(self, partition: int, offset: int) -> None:
        """The changelog holds this store's partition up to ``offset`` (Faust types the store
        as a mapping; its stores have ``set_persisted_offset``)."""
        cast(Any, self._table.data).set_persisted_offset(TP(self.changelog, partition), offset)
