"""Records gathered into producer batches: one open per topic partition, in order, none lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.worker.batches import Batches
from streams.worker.ports import ProducerBatch
from tests.unit.streams.batch_builder import Builder


class Outlet:
    def __init__(self, room: int) -> None:
        self.room = room
        self.sent: list[tuple[str, int, list[bytes | None]]] = []  # values only

    async def partition(self, topic: str, key: bytes | None) -> int:
        return (key or b"\0")[0] % 3

    def create_batch(self) -> Builder:
        return Builder(self.room)

    async def send_batch(self, batch: ProducerBatch, topic: str, partition: int) -> Any:
        assert isinstance(batch, Builder)
        assert batch.closed
        self.sent.append((topic, partition, [value for _, value in batch.records]))
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.binary(min_size=1, max_size=2))),
    st.integers(min_value=1, max_value=4),
)
def test_every_record_is_sent_once_in_its_partitions_order(
    records: list[tuple[str, bytes]], room: int
) -> None:
    """Whatever fills up when, each topic partition receives exactly its records, in order,
    and ``latest`` names the last batch sent to each."""

    async def run() -> tuple[Outlet, int]:
        outlet = Outlet(room)
        batches = Batches(outlet)
        for n, (topic, key) in enumerate(records):
            await batches.add(topic, key, str(n).encode())
        sent = await batches.submit_all()
        last = {(s.topic, s.partition): s for s in sent}
        assert all(batches.latest(*where) is s for where, s in last.items())
        return outlet, sum(s.count for s in sent)

    outlet, counted = asyncio.run(run())
    expected: dict[tuple[str, int], list[bytes | None]] = {}
    for n, (topic, key) in enumerate(records):
        expected.setdefault((topic, key[0] % 3), []).append(str(n).encode())
    received: dict[tuple[str, int], list[bytes | None]] = {}
    for topic, partition, values in outlet.sent:
        assert 0 < len(values) <= room
        received.setdefault((topic, partition), []).extend(values)
    assert received == expected
    assert counted == len(records)


def test_a_record_larger_than_a_batch_is_refused() -> None:
    """A record no empty batch takes is an error, never silently dropped."""

    async def run() -> None:
        await Batches(Outlet(room=0)).add("a", b"k", b"v")

    with pytest.raises(ValueError, match="larger than a producer batch"):
        asyncio.run(run())
