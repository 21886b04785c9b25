"""Canaries: each private internal of Faust or aiokafka the runtime relies on is still there and
still behaves as relied upon (streams/runtime/README.md says why each is touched).

None needs Kafka: an app is built, never started. When one fails after an upgrade, read the
README's entry for it before changing anything else.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiokafka
import faust
import faust.transport.consumer as faust_consumer
import pytest
from aiokafka.client import AIOKafkaClient
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.stores.base import Store
from faust.stores.rocksdb import DEFAULT_BLOCK_CACHE_SIZE, RocksDBOptions
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP, tuples

from rps.producing import TrackingProducer
from rps.settings import Settings
from streams.runtime.app import build, faust_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[faust.App]:
    """The worker's Faust app, built and never started (its consumer thread's loop closed)."""
    built = faust_app(Settings(state_dir=tmp_path))
    yield built
    consumer: Any = getattr(built, "_consumer", None)
    if consumer is not None:
        consumer._thread.thread_loop.close()


def test_faust_producer_keeps_aiokafka_producer_behind_ensure_producer() -> None:
    """FaustOutlet reaches aiokafka's batch interface through ``_ensure_producer()``."""
    assert callable(faust_kafka.Producer._ensure_producer)
    assert isinstance(inspect.getattr_static(faust_kafka.Producer, "_producer_type"), property)


async def test_the_transport_producer_class_can_be_replaced(app: faust.App) -> None:
    """``app.transport.Producer`` set before first use decides the producer class."""
    producer: Any = app.producer
    assert producer._producer_type is TrackingProducer


async def test_the_consumer_keeps_a_gap_per_partition_that_can_be_chopped(app: faust.App) -> None:
    """The stall guard drops ``consumer._gap`` from the offset it seeks back to."""
    gap = app.consumer._gap  # type: ignore[attr-defined]
    assert callable(gap[("topic", 0)].chop)


async def test_the_consumer_runs_aiokafka_on_a_thread_it_can_call(app: faust.App) -> None:
    """The stall guard reads positions through ``consumer._thread`` on aiokafka's own thread."""
    thread = app.consumer._thread  # type: ignore[attr-defined]
    assert callable(thread._ensure_consumer)
    assert callable(thread.call_thread)
    for name in ("flow_active", "seek_wait", "earliest_offsets", "assignment"):
        assert hasattr(app.consumer, name), name


def test_faust_fetches_through_getmany_on_the_instance() -> None:
    """The stall guard wraps ``_getmany`` on the consumer instance to seek between two fetches;
    Faust must look it up there for every fetch."""
    source = inspect.getsource(faust_consumer.Consumer._wait_next_records)
    assert "await self._getmany(" in source
    assert callable(faust_consumer.ThreadDelegateConsumer._getmany)


def test_faust_hands_on_only_records_at_or_above_the_last_it_handed_on() -> None:
    """The behaviour the stall guard's seek between fetches answers: records of a batch
    fetched before a seek raise Faust's read offset, and the read from the offset sought is
    dropped below it. If this fails, read the README's entry before changing the guard."""
    source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert "if r_offset is None or offset >= r_offset:" in source
    assert "set_read_offset(tp, offset)" in source


def test_fetched_records_are_keyed_by_partitions_equal_to_fausts() -> None:
    """The stall guard looks a fetch's records up by Faust's TP."""
    assert {TopicPartition("t", 1): 1}.get(TP("t", 1)) == 1


def test_fetched_records_carry_their_key() -> None:
    """The keys are read ahead from the record keys of aiokafka's fetched records."""
    fields = {f.name for f in dataclasses.fields(ConsumerRecord)}
    assert {"topic", "partition", "offset", "key"} <= fields


def test_faust_seeks_to_committed_through_the_instance() -> None:
    """The rewind replaces ``seek_to_committed`` on the consumer instance; Faust must look it
    up there when it seeks after a rebalance."""
    assert "self.seek_to_committed()" in inspect.getsource(faust_consumer.Consumer.perform_seek)


def test_aiokafka_seek_to_committed_still_skips_uncommitted_partitions() -> None:
    """The behaviour the rewind answers (aio-libs/aiokafka#1003): a committed offset of 0 or
    none does not move the partition. If this fails, the rewind may be unnecessary."""
    source = inspect.getsource(aiokafka.AIOKafkaConsumer.seek_to_committed)
    assert "if offset and offset > 0:" in source


def test_faust_skips_events_of_an_older_generation() -> None:
    """The drop the stall guard repairs (faust-streaming/faust#221, #223): events fetched
    before a rebalance are skipped by the stream, relying on a seek to bring them back."""
    source = inspect.getsource(faust.Stream._py_aiter)
    assert "message.generation_id != self.app.consumer_generation_id" in source


async def test_table_stores_can_be_written_and_told_their_persisted_offset(
    app: faust.App,
) -> None:
    """TableStore writes and deletes through ``table.data`` directly (a delete outside any
    event, as the stages drop a settled outbox entry) and calls ``set_persisted_offset``."""
    table = app.Table("canary", default=None, key_type=bytes, value_type=bytes)
    table.data[b"k"] = b"v"
    assert table.get(b"k") == b"v"
    assert table.data.pop(b"k", None) == b"v"
    assert table.get(b"k") is None
    assert table.data.pop(b"absent", None) is None
    assert callable(table.data.set_persisted_offset)  # type: ignore[attr-defined]
    assert callable(Store.set_persisted_offset)


def test_an_acked_message_is_neither_acked_again_nor_waited_for() -> None:
    """Records passed over get ``message.acked = True``: Faust's ack then skips them (their
    offset is not committed) and a rebalance's wait drops them from the unacked set."""
    assert "acked" in tuples.Message.__slots__
    assert "if not message.acked:" in inspect.getsource(faust_consumer.Consumer.ack)
    cleaning = inspect.getsource(faust_consumer.Consumer._clean_unacked_messages)
    assert "if message.acked" in cleaning


def test_aiokafka_producer_partitioner_and_topic_list() -> None:
    """TrackingProducer calls ``_partition`` as ``send`` does and ``client.add_topic``."""
    parameters = list(inspect.signature(aiokafka.AIOKafkaProducer._partition).parameters)
    assert parameters == [
        "self",
        "topic",
        "partition",
        "key",
        "value",
        "serialized_key",
        "serialized_value",
    ]
    assert list(inspect.signature(AIOKafkaClient.add_topic).parameters) == ["self", "topic"]


def test_a_batch_builder_refuses_a_record_when_full() -> None:
    """The stages' batches rely on ``append`` answering None when a batch is full."""
    builder = BatchBuilder(100, 0)
    assert builder.append(key=b"k", value=b"v" * 10, timestamp=None, headers=[]) is not None
    assert builder.append(key=b"k", value=b"v" * 200, timestamp=None, headers=[]) is None
    builder.close()
    assert builder.record_count() == 1


async def test_a_rocksdb_table_gets_the_block_cache_the_settings_give(tmp_path: Path) -> None:
    """``RPS_ROCKSDB_CACHE_MIB`` reaches each RocksDB store the worker's tables open, whose
    ``Cache`` is made of it; Faust's default (2 GiB a store) is not what a worker runs with."""
    settings = Settings(state_dir=tmp_path, store="rocksdb://", rocksdb_cache_mib=24)
    worker = build(settings)
    for table in worker.app.tables.values():
        store: Any = table.data
        assert store.rocksdb_options.block_cache_size == 24 * 1024 * 1024, table.name
    assert len(worker.app.tables) == 2
    assert "rocksdict.Cache(self.block_cache_size)" in inspect.getsource(RocksDBOptions.as_options)
    assert Settings().rocksdb_cache_mib * 1024 * 1024 < DEFAULT_BLOCK_CACHE_SIZE
    consumer: Any = getattr(worker.app, "_consumer", None)
    if consumer is not None:
        consumer._thread.thread_loop.close()
