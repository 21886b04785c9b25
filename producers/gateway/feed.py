"""The pull feed behind ``GET /v1/deliveries``: an authority's topic read from a cursor.

A cursor is opaque to the authority: ``c1.`` and the base64url of the next
offset in each partition of its delivery topic. Kafka offsets never change, so
a cursor means the same after a gateway restart, on any gateway. A page is, in
each partition, the records that follow the cursor, in order (so one
resident's deliveries keep their order); the next cursor starts after the last
record the page returned. The topic read is always the caller's own: the
authority comes from its key, never from the request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import heapq
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from rps.logs import get_logger
from rps.reading import partitions_of
from rps.settings import Settings
from schemas import InvalidEvent, decode, encode
from schemas.acknowledgements import delivery_applied
from schemas.topics import Topics

_log = get_logger("producers.gateway")

CURSOR_PREFIX = "c1."
PARTITIONS_FRESH_SECONDS = 60.0


class BadCursor(ValueError):
    """A cursor this gateway did not issue."""


class FeedUnavailable(Exception):
    """Kafka did not answer."""


def encode_cursor(positions: Mapping[int, int]) -> str:
    """The opaque cursor for the next offset of each partition."""
    raw = orjson.dumps(sorted(positions.items()))
    return CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[int, int]:
    """The positions a cursor stands for (empty: from the beginning), or ``BadCursor``."""
    if not cursor:
        return {}
    if not cursor.startswith(CURSOR_PREFIX) or len(cursor) > 8192:
        raise BadCursor()
    text = cursor[len(CURSOR_PREFIX) :]
    try:
        pairs = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise BadCursor() from None
    if not isinstance(pairs, list) or not all(_pair(p) for p in pairs):
        raise BadCursor()
    return {partition: offset for partition, offset in pairs}


def _pair(item: Any) -> bool:
    return (
        isinstance(item, list)
        and len(item) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in item)
    )


@dataclass(frozen=True, slots=True)
class Applied:
    """One delivery an authority says it applied."""

    decision_id: str
    subject: str
    local_reference: str


@dataclass(frozen=True, slots=True)
class Page:
    """Deliveries after a cursor (as CloudEvent JSON), the next cursor, whether more wait, and
    whether some after the cursor had expired (retention) before they were read."""

    deliveries: list[dict[str, Any]]
    next: str
    more: bool
    gap: bool = False


class Feed:
    """Reads authorities' delivery topics for the gateway, and sends their acknowledgements.

    One consumer (no group: it commits nothing, the cursor is the position) is
    shared by the requests, one at a time; it and the producer start on first use.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topics = Topics(settings.topic_prefix)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._known: dict[str, tuple[float, list[TopicPartition]]] = {}

    async def read(self, authority: str, cursor: str | None, limit: int) -> Page:
        """The page of ``authority``'s deliveries after ``cursor`` (``BadCursor``,
        ``FeedUnavailable``)."""
        positions = decode_cursor(cursor)
        topic = self._topics.deliveries(authority)
        try:
            async with self._lock:
                consumer = await self._started_consumer()
                tps = await self._partitions(topic)
                fetched, gap = await self._fetch(consumer, tps, positions, limit)
        except KafkaError as error:
            _log.warning("feed unavailable", authority=authority, error_type=type(error).__name__)
            raise FeedUnavailable() from None
        page = self._page(fetched, positions, limit)
        if gap:
            _log.warning("feed gap: deliveries expired unread", authority=authority)
        return dataclasses.replace(page, gap=gap)

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        """The topic's partitions, looked up once a minute (none while it does not exist)."""
        now = time.monotonic()
        known = self._known.get(topic)
        if known is None or now - known[0] > PARTITIONS_FRESH_SECONDS or not known[1]:
            known = (now, await partitions_of(self._settings, topic))
            self._known[topic] = known
        return known[1]

    async def _fetch(
        self,
        consumer: AIOKafkaConsumer,
        tps: list[TopicPartition],
        positions: Mapping[int, int],
        limit: int,
    ) -> tuple[dict[int, list[Any]], bool]:
        """Records after ``positions`` (at least ``limit`` when there are), and whether the
        topic's retention removed some the cursor had not reached."""
        if not tps:
            return {}, False
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        gap = bool(positions) and any(positions.get(tp.partition, 0) < starts[tp] for tp in tps)
        fetched: dict[int, list[Any]] = {tp.partition: [] for tp in tps}
        waiting = []
        for tp in tps:
            at = max(positions.get(tp.partition, 0), starts[tp])
            if at < ends[tp]:
                consumer.seek(tp, at)
                waiting.append(tp)
        total = 0
        while waiting and total < limit:
            batch = await consumer.getmany(*waiting, timeout_ms=500, max_records=limit)
            for tp, records in batch.items():
                fetched[tp.partition].extend(records)
                total += len(records)
            waiting = [tp for tp in waiting if await consumer.position(tp) < ends[tp]]
        return fetched, gap

    def _page(
        self, fetched: Mapping[int, list[Any]], positions: Mapping[int, int], limit: int
    ) -> Page:
        """At most ``limit`` records, oldest first across partitions, a prefix of each."""
        heads = [(records[0].timestamp, p, 0) for p, records in fetched.items() if records]
        heapq.heapify(heads)
        nexts = dict(positions)
        deliveries: list[dict[str, Any]] = []
        while heads and len(deliveries) < limit:
            _, partition, index = heapq.heappop(heads)
            record = fetched[partition][index]
            nexts[partition] = record.offset + 1
            if index + 1 < len(fetched[partition]):
                following = fetched[partition][index + 1]
                heapq.heappush(heads, (following.timestamp, partition, index + 1))
            try:
                event = decode(record.value or b"", tuple(record.headers))
            except InvalidEvent:
                _log.warning("feed passed a record by", partition=partition, offset=record.offset)
                continue
            deliveries.append(event.model_dump(mode="json", exclude_none=False))
        return Page(deliveries, encode_cursor(nexts), bool(heads))

    async def acknowledge(self, authority: str, applied: list[Applied]) -> None:
        """Send ``delivery.applied`` for each, built as the reference subscriber builds it."""
        now = datetime.now(UTC)
        events = [
            delivery_applied(authority, a.decision_id, a.subject, a.local_reference, now, now)
            for a in applied
        ]
        try:
            producer = await self._started_producer()
            sent = [
                await producer.send(
                    self._topics.acknowledgements, key=event.subject.encode(), value=encode(event)
                )
                for event in events
            ]
            for future in sent:
                await future
        except KafkaError as error:
            _log.warning("feed unavailable", authority=authority, error_type=type(error).__name__)
            raise FeedUnavailable() from None

    async def _started_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                client_id="rps-gateway-feed",
                **self._settings.kafka_client_options(),
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                acks="all",
                enable_idempotence=True,
                client_id="rps-gateway-feed",
                **self._settings.kafka_client_options(),
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
