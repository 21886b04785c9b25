"""The worker's stages: a batch of decisions is recorded once per key, then sent, then acked."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from typing import Any

import pytest

from rps.settings import Settings
from schemas.topics import Topics
from streams.worker.outbox import Decision, Pending
from streams.worker.ports import ProducerBatch
from streams.worker.stages import Stages
from tests.unit.streams.batch_builder import Builder

pytestmark = pytest.mark.asyncio

Metadata = namedtuple("Metadata", "partition offset")
TOPICS = Topics(Settings().topic_prefix)


class Broker:
    """Records every record in the order its batch was sent; every batch is acked at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int]] = []
        self.offsets: dict[tuple[str, int], int] = {}

    async def partition(self, topic: str, key: bytes | None) -> int:
        return 0

    def create_batch(self) -> Builder:
        return Builder()

    async def send_batch(
        self, batch: ProducerBatch, topic: str, partition: int
    ) -> asyncio.Future[Any]:
        assert isinstance(batch, Builder)
        assert batch.closed  # nothing may join a batch once it is sent
        base = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = base + batch.record_count()
        self.sent.extend((topic, key, value, partition) for key, value in batch.records)
        return self.acked(Metadata(partition, base))

    @staticmethod
    def acked(metadata: Metadata) -> asyncio.Future[Any]:
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        ack.set_result(metadata)
        return ack


class Event:
    def __init__(self, acked: list[int], n: int) -> None:
        self._acked, self._n = acked, n

    def ack(self) -> None:
        self._acked.append(self._n)


def _stages(broker: Broker, persisted: list[tuple[int, int]]) -> Stages:
    async def crash(error: BaseException) -> None:
        raise AssertionError("no output may fail here") from error

    async def last_audit(partition: int) -> bytes | None:
        return None

    return Stages(
        Settings(),
        broker,
        "changelog",
        lambda partition, offset: persisted.append((partition, offset)),
        crash,
        last_audit,
    )


async def test_a_batch_records_each_key_once_then_sends_then_acks_in_order() -> None:
    """Decisions waiting together are recorded with one changelog record per key (its last
    value), every output goes out only after that, and inputs are acked in their order; the
    changelog offsets reached are passed on (what a RocksDB store keeps)."""
    broker, persisted, acked = Broker(), list[tuple[int, int]](), list[int]()
    stages = _stages(broker, persisted)
    delivery = (TOPICS.deliveries("E08000015"), b"k", b"v", None)
    batch = [
        Pending(Event(acked, 0), Decision("e0", 1, [(b"alice", b"a1")], [delivery])),
        Pending(Event(acked, 1), Decision("e1", 1, [(b"bob", b"b1")], [delivery])),
        Pending(Event(acked, 2), Decision("e2", 1, [(b"alice", b"a2")], [delivery])),
        Pending(Event(acked, 3), Decision("", 2, [], [(TOPICS.deadletter, b"x", b"y", None)])),
        Pending(Event(acked, 4), Decision("e4", 2, [(b"carol", b"c1")], [delivery])),
    ]
    for pending in batch:  # handed over before the stages first run: one batch
        await stages.put(pending)
    await asyncio.wait_for(stages.drain(), 5)

    topics = [sent[0] for sent in broker.sent]
    changelog = [(key, value) for topic, key, value, _ in broker.sent if topic == "changelog"]
    assert changelog == [(b"alice", b"a2"), (b"bob", b"b1"), (b"carol", b"c1")]
    assert topics[:3] == ["changelog"] * 3  # recorded before anything is sent
    assert sorted(topics[3:]) == sorted([delivery[0]] * 4 + [TOPICS.deadletter])
    assert acked == [0, 1, 2, 3, 4]
    assert sorted(persisted) == [(1, 1), (2, 0)]  # the last offset each changelog partition holds
    assert stages.known_sent("e0")
    assert stages.known_sent("e4")
    assert not stages.known_sent("")


async def test_outputs_wait_for_the_changelog() -> None:
    """Nothing of a decision is sent while its changelog record is not acknowledged."""
    broker, persisted, acked = Broker(), list[tuple[int, int]](), list[int]()
    release: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    send_batch = broker.send_batch

    async def slow_changelog(
        batch: ProducerBatch, topic: str, partition: int
    ) -> asyncio.Future[Any]:
        ack = await send_batch(batch, topic, partition)
        return release if topic == "changelog" else ack

    broker.send_batch = slow_changelog  # type: ignore[method-assign]
    stages = _stages(broker, persisted)
    delivery = (TOPICS.deliveries("E08000015"), b"k", b"v", None)
    await stages.put(Pending(Event(acked, 0), Decision("e0", 0, [(b"alice", b"a1")], [delivery])))
    await asyncio.sleep(0.05)
    assert [sent[0] for sent in broker.sent] == ["changelog"]
    assert acked == []
    release.set_result(Metadata(0, 7))
    await asyncio.wait_for(stages.drain(), 5)
    assert [sent[0] for sent in broker.sent] == ["changelog", delivery[0]]
    assert acked == [0]
    assert persisted == [(0, 7)]
