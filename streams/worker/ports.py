"""The ports the worker's logic talks to, as typed Protocols; the Faust runtime plugs them in.

- :class:`InputRecord`: one record of an input topic, as the consumer fetched it.
- :class:`Registry`: the publisher registry view, fresh enough to judge a record's timestamp.
- :class:`Acknowledgeable`: what the stages ack once an input's outputs are in Kafka.
- :class:`ProfileStore`: the resident profiles (and the outbox entries, under keys of their
  own), read and written *without* recording: the stages record what the worker decided.
- :class:`Outlet`, :class:`ProducerBatch`, :class:`Delivered`: the producer's batch interface.
- :class:`Send`: one record sent on its own (the worker's control requests).
- :class:`Checkpoints`: told how far the stages got (fault injection stops the process there).
- :class:`DataKeys`: the residents' data keys, to seal the values the profiles keep.

What the worker did is told to an :class:`streams.worker.observer.Observer` (the metrics).

The expiry schedule is a plain ``MutableMapping[bytes, bytes]`` written through
(its changelog is the runtime's business).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Iterable, Sequence
from typing import Protocol

from rps.sealing import DataKey
from schemas.registry import RegistryView

Headers = Sequence[tuple[str, bytes]]


class InputRecord(Protocol):
    """A record of the attributes, consents or control topic (Faust's ``Message`` is one)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Headers | None: ...
    @property
    def timestamp(self) -> float:
        """The record's timestamp in seconds (the broker's, LogAppendTime, on inbound topics)."""


class Registry(Protocol):
    """The publisher registry as one process follows it (``rps.registry.RegistryFollower``)."""

    async def view_for(self, record_timestamp: dt.datetime) -> RegistryView:
        """A view that may judge an event stamped ``record_timestamp`` (reading on if need be)."""


class Acknowledgeable(Protocol):
    """An input the consumer may commit past once acked (Faust's ``Event`` is one)."""

    def ack(self) -> object:
        """Mark the input done."""


class ProfileStore(Protocol):
    """The worker's local view of its table: what the next input sees, at once."""

    def get(self, key: bytes) -> bytes | None:
        """The stored value, or None."""

    def put(self, key: bytes, value: bytes) -> None:
        """Keep ``value`` for the next input; recording it is the stages' job, not the store's."""

    def items(self) -> Iterable[tuple[bytes, bytes | None]]:
        """Every stored (key, value), a snapshot (the backfill scans it)."""


class DataKeys(Protocol):
    """The residents' data keys, as the worker uses them to seal stored values."""

    async def key_for(self, resident: str, *, create: bool) -> DataKey | None:
        """The resident's data key (made now when ``create``), or None if it has none."""
        ...

    async def forget(self, resident: str) -> None:
        """Delete the resident's data key for good (an erasure)."""
        ...


class Delivered(Protocol):
    """Kafka's acknowledgement of a batch (aiokafka's ``RecordMetadata``): its base offset."""

    @property
    def offset(self) -> int: ...


class ProducerBatch(Protocol):
    """An open batch of records for one topic partition (aiokafka's ``BatchBuilder``)."""

    def append(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        timestamp: int | None,
        headers: list[tuple[str, bytes]],
    ) -> object | None:
        """Add a record; None when the batch is full."""

    def close(self) -> None:
        """Take no more records."""

    def record_count(self) -> int:
        """How many records the batch holds."""


class Outlet(Protocol):
    """The producer's batch interface (aiokafka's ``create_batch`` and ``send_batch``)."""

    async def partition(self, topic: str, key: bytes | None) -> int:
        """The partition the producer's partitioner gives ``key`` on ``topic``."""

    def create_batch(self) -> ProducerBatch:
        """An empty batch."""

    async def send_batch(
        self, batch: ProducerBatch, topic: str, partition: int
    ) -> Awaitable[Delivered]:
        """Queue a closed batch; await the result for its acknowledgement."""


class Send(Protocol):
    """Queue one record; await the result for its acknowledgement."""

    async def __call__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Awaitable[object]: ...


class Checkpoints(Protocol):
    """Told how many decisions the stages have recorded and settled so far."""

    def recorded(self, before: int, after: int) -> None:
        """A batch of decisions is in the changelog: ``before`` were, ``after`` now are."""

    def settled(self, count: int) -> None:
        """One more input has its outputs in Kafka (``count`` so far), about to be acked."""


class NoCheckpoints:
    """Checkpoints that do nothing (no fault injected)."""

    def recorded(self, before: int, after: int) -> None:
        """Nothing to do."""

    def settled(self, count: int) -> None:
        """Nothing to do."""
