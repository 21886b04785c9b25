"""The worker's stages: a batch of decisions is recorded once per key, then sent, then acked."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from typing import Any

import pytest

from rps.settings import Settings
from schemas.topics import Topics
from streams.worker import entries
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


def _stages(
    broker: Broker, persisted: list[tuple[int, int]], discarded: list[bytes] | None = None
) -> Stages:
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
        discard=(discarded if discarded is not None else []).append,
    )


async def test_a_batch_records_each_key_once_then_sends_then_acks_in_order() -> None:
    """Decisions waiting together are recorded with one changelog record per key (its last
    value), outbox entries before profiles, every output goes out only after that, the
    entries are then deleted (here and by a tombstone) before the inputs are acked in their
    order; the changelog offsets reached are passed on (what a RocksDB store keeps)."""
    broker, persisted, acked = Broker(), list[tuple[int, int]](), list[int]()
    discarded: list[bytes] = []
    stages = _stages(broker, persisted, discarded)
    delivery = (TOPICS.deliveries("E08000015"), b"k", b"v", None)
    e = {n: entries.entry_key(f"e{n}") for n in range(5)}

    def decided(n: int, partition: int, profile: tuple[bytes, bytes]) -> Decision:
        return Decision(f"e{n}", partition, [profile], [delivery], [(e[n], b"kept")])

    batch = [
        Pending(Event(acked, 0), decided(0, 1, (b"alice", b"a1"))),
        Pending(Event(acked, 1), decided(1, 1, (b"bob", b"b1"))),
        Pending(Event(acked, 2), decided(2, 1, (b"alice", b"a2"))),
        Pending(Event(acked, 3), Decision("", 2, [], [(TOPICS.deadletter, b"x", b"y", None)])),
        Pending(Event(acked, 4), decided(4, 2, (b"carol", b"c1"))),
    ]
    for pending in batch:  # handed over before the stages first run: one batch
        await stages.put(pending)
    await asyncio.wait_for(stages.drain(), 5)

    topics = [sent[0] for sent in broker.sent]
    changelog = [(key, value) for topic, key, value, _ in broker.sent if topic == "changelog"]
    kept = [(e[n], b"kept") for n in (0, 1, 2, 4)]
    profiles = [(b"alice", b"a2"), (b"bob", b"b1"), (b"carol", b"c1")]
    tombstones = [(e[n], None) for n in (0, 1, 2, 4)]
    assert changelog == kept + profiles + tombstones
    assert topics[:7] == ["changelog"] * 7  # recorded before anything is sent
    assert sorted(topics[7:-4]) == sorted([delivery[0]] * 4 + [TOPICS.deadletter])
    assert topics[-4:] == ["changelog"] * 4  # deleted once sent
    assert discarded == [e[n] for n in (0, 1, 2, 4)]
    assert acked == [0, 1, 2, 3, 4]
    assert sorted(persisted) == [(1, 2), (1, 4), (1, 7), (2, 0), (2, 1), (2, 2)]


async def test_the_profile_waits_for_its_entry_and_outputs_wait_for_the_changelog() -> None:
    """Nothing of a decision is sent while its changelog records are not acknowledged, and its
    profile is not written before its outbox entry is acknowledged (so a recorded profile
    always has its entry)."""
    broker, persisted, acked = Broker(), list[tuple[int, int]](), list[int]()
    releases: list[asyncio.Future[Any]] = []
    send_batch = broker.send_batch

    async def slow_changelog(
        batch: ProducerBatch, topic: str, partition: int
    ) -> asyncio.Future[Any]:
        ack = await send_batch(batch, topic, partition)
        if topic != "changelog":
            return ack
        releases.append(asyncio.get_running_loop().create_future())
        return releases[-1]

    broker.send_batch = slow_changelog  # type: ignore[method-assign]
    stages = _stages(broker, persisted)
    delivery = (TOPICS.deliveries("E08000015"), b"k", b"v", None)
    entry = entries.entry_key("e0")
    decision = Decision("e0", 0, [(b"alice", b"a1")], [delivery], [(entry, b"kept")])
    await stages.put(Pending(Event(acked, 0), decision))
    await asyncio.sleep(0.05)
    assert [sent[1] for sent in broker.sent] == [entry]  # the entry alone, so far
    releases[0].set_result(Metadata(0, 6))
    await asyncio.sleep(0.05)
    assert [sent[1] for sent in broker.sent] == [entry, b"alice"]
    assert acked == []
    releases[1].set_result(Metadata(0, 7))
    await asyncio.sleep(0.05)
    assert [sent[0] for sent in broker.sent] == ["changelog", "changelog", delivery[0], "changelog"]
    assert broker.sent[-1][1:3] == (entry, None)  # deleted once sent, then acked
    assert acked == []
    releases[2].set_result(Metadata(0, 8))
    await asyncio.wait_for(stages.drain(), 5)
    assert acked == [0]
    assert persisted == [(0, 6), (0, 7), (0, 8)]
