"""The webhook process: one authority's delivery topic, POSTed to its endpoint, acknowledged.

Each batch read from ``rps.deliveries.<authority>.v1`` is split into lanes, one
per resident (the record key): lanes run concurrently (``webhook_concurrency``)
and each sends its resident's deliveries one after another, so a resident's
deliveries arrive in order and a slow or failing one holds up only that
resident. When every delivery of the batch has a final answer, the applied
ones are acknowledged to the hub (``delivery.applied``, built exactly as the
reference subscriber builds it), the refused ones are dead-lettered with the
status, and only then are the offsets committed. A crash before the commit
sends the batch again with the same ``webhook-id`` s; the receiver dedupes.
One process serves one authority (as ``rps subscribe`` does): its consumer
group, its retries and its Kafka credential are that authority's alone. With
``RPS_METRICS_PORT`` set it serves ``/metrics``, ``/livez`` and ``/readyz``
(``consumers.webhooks._metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import infra
from consumers._apply import Delivery
from consumers._metrics import Lag
from consumers._offsets import caught_up, commit
from consumers._poison import dead_letter
from consumers._repository import PendingAck
from consumers._wire import acknowledgements, to_delivery
from consumers.errors import PoisonRecord
from consumers.webhooks import _metrics
from consumers.webhooks._answers import Answer, Verdict
from consumers.webhooks._endpoints import Endpoint, EndpointStore
from consumers.webhooks._kafka import Ends, on_signals, release
from consumers.webhooks._sender import Outgoing, Sender, webhook_id
from rps import metrics
from rps.logs import get_logger
from rps.settings import Settings
from schemas import decode, encode
from schemas.topics import Topics, authority_slug

log = get_logger("consumers.webhooks")

LAG_EVERY_SECONDS = 5.0
ENDPOINT_FRESH_SECONDS = 10.0
"""How long the process trusts the endpoint it read: a rotation takes effect within this."""


@dataclass
class RelayStats:
    """Counts for the closing line and for callers that run to the end."""

    records: int = 0
    applied: int = 0
    refused: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0


@dataclass
class _Item:
    record: Any
    delivery: Delivery
    outgoing: Outgoing
    answer: Answer | None = None


class _CachedEndpoint:
    """The authority's endpoint, read again from the hub database every few seconds."""

    def __init__(self, store: EndpointStore, authority: str) -> None:
        self._store = store
        self._authority = authority
        self._endpoint: Endpoint | None = None
        self._read_at = 0.0

    async def __call__(self) -> Endpoint:
        if self._endpoint is None or time.monotonic() - self._read_at > ENDPOINT_FRESH_SECONDS:
            self._endpoint = await self._store.get(self._authority)
            self._read_at = time.monotonic()
        return self._endpoint


class Relay:
    """Deliver one authority's topic to its endpoint until stopped (or caught up)."""

    def __init__(
        self,
        settings: Settings,
        authority: str,
        store: EndpointStore,
        client: aiohttp.ClientSession,
    ) -> None:
        self._settings = settings
        self._authority = authority
        self._topics = Topics(settings.topic_prefix)
        self._endpoint = _CachedEndpoint(store, authority)
        self._sender = Sender(settings, client, self._endpoint)
        self._stop = asyncio.Event()
        self.stats = RelayStats()
        self.health = _metrics.relay_health()

    def stop(self) -> None:
        """Stop now; a batch without final answers is not committed (it is sent again later)."""
        self._stop.set()

    async def run(self, *, stop_at_end: bool = False) -> RelayStats:
        slug = authority_slug(self._authority)
        group = f"rps-webhooks-{slug}"
        options = self._settings.kafka_client_options()
        consumer = AIOKafkaConsumer(
            group_id=group,
            client_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **options,
        )
        producer = AIOKafkaProducer(client_id=group, acks="all", enable_idempotence=True, **options)
        ends = Ends(consumer, self.health)
        lag, lag_at = Lag(group), 0.0
        await self._endpoint()  # UnknownEndpoint before anything is read
        self.health.met("endpoint")
        server = metrics.serve(self._settings, self.health, group)
        beating = asyncio.create_task(metrics.heartbeat(self.health))
        handlers = on_signals(self._stop)
        try:
            await producer.start()
            self.health.met("producing")
            await consumer.start()
            consumer.subscribe([self._topics.deliveries(self._authority)], listener=ends)
            while not self._stop.is_set():
                batch = await consumer.getmany(
                    timeout_ms=500, max_records=self._settings.consumer_batch_size
                )
                if batch and not await self._until_stopped(self._handle(producer, batch)):
                    break
                if batch:
                    await commit(consumer, {tp: rs[-1].offset + 1 for tp, rs in batch.items()})
                if (now := time.monotonic()) - lag_at >= LAG_EVERY_SECONDS:
                    lag_at = now
                    await lag.refresh(consumer, consumer.assignment())
                if stop_at_end and await caught_up(consumer, ends.targets):
                    break
        finally:
            beating.cancel()
            if server is not None:
                server.stop()
            release(handlers)
            await consumer.stop()
            await producer.stop()
        self.stats.retries = self._sender.retries
        log.info(
            "stopped",
            authority=self._authority,
            count=self.stats.records,
            applied=self.stats.applied,
            rejected=self.stats.refused,
        )
        return self.stats

    async def _until_stopped(self, work: Any) -> bool:
        """Run ``work`` to the end (True), or cancel it when asked to stop (False)."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if task.done():
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False

    async def _handle(
        self, producer: AIOKafkaProducer, batch: Mapping[TopicPartition, list[Any]]
    ) -> None:
        lanes: dict[bytes | None, list[_Item]] = {}
        for records in batch.values():
            for record in records:
                self.stats.records += 1
                item = await self._item(producer, record)
                if item is not None:
                    lanes.setdefault(record.key, []).append(item)
        gate = asyncio.Semaphore(self._settings.webhook_concurrency)

        async def run_lane(items: list[_Item]) -> None:
            async with gate:
                for item in items:
                    item.answer = await self._sender.deliver(item.outgoing, self._authority)

        await asyncio.gather(*(run_lane(items) for items in lanes.values()))
        done = [item for items in lanes.values() for item in items]
        await self._settle(producer, done)
        self.stats.batches += 1

    async def _item(self, producer: AIOKafkaProducer, record: Any) -> _Item | None:
        """The record as a delivery to send, or None once it is dead-lettered as poison."""
        try:
            delivery = to_delivery(record, self._authority)
            body = _structured(record)
        except PoisonRecord as poison:
            await dead_letter(producer, self._topics, record, poison.reason)
            self.stats.dead_lettered += 1
            _metrics.DELIVERIES.labels(self._authority, "dead_lettered").inc()
            return None
        outgoing = Outgoing(
            webhook_id(delivery.decision_id, delivery.version),
            body,
            delivery.decision_id,
            delivery.version,
        )
        return _Item(record, delivery, outgoing)

    async def _settle(self, producer: AIOKafkaProducer, items: list[_Item]) -> None:
        """Acknowledge what was applied and dead-letter what was refused, before the commit."""
        now = dt.datetime.now(dt.UTC)
        applied = [
            PendingAck(i.delivery.decision_id, i.delivery.subject, i.delivery.local_reference, now)
            for i in items
            if i.answer is not None and i.answer.verdict is Verdict.APPLIED
        ]
        sent = [
            await producer.send(self._topics.acknowledgements, key=key, value=value)
            for key, value in acknowledgements(self._authority, applied, now)
        ]
        for item in items:
            if item.answer is not None and item.answer.verdict is Verdict.REFUSED:
                await dead_letter(producer, self._topics, item.record, item.answer.reason)
                self.stats.refused += 1
                _metrics.DELIVERIES.labels(self._authority, "refused").inc()
        for future in sent:
            await future
        self.stats.applied += len(applied)
        _metrics.DELIVERIES.labels(self._authority, "applied").inc(len(applied))
        _metrics.ACKNOWLEDGED.labels(self._authority).inc(len(sent))
        if applied:
            log.info("acknowledged", count=len(applied), authority=self._authority)


def _structured(record: Any) -> bytes:
    """The delivery as a structured-mode CloudEvent: the record's value as it is, unless it
    came in binary mode (``ce_`` headers), when it is encoded afresh."""
    if any(name == "ce_specversion" for name, _ in record.headers):
        return encode(decode(record.value, tuple(record.headers)))
    value: bytes = record.value
    return value


async def run_webhooks(
    settings: Settings,
    authority: str,
    store: EndpointStore,
    *,
    stop_at_end: bool = False,
    client: aiohttp.ClientSession | None = None,
) -> RelayStats:
    """Deliver ``authority``'s topic to its registered endpoint until stopped (or caught up)."""
    await infra.ensure_delivery_topic(settings, authority)
    if client is not None:
        return await Relay(settings, authority, store, client).run(stop_at_end=stop_at_end)
    async with aiohttp.ClientSession() as http:
        return await Relay(settings, authority, store, http).run(stop_at_end=stop_at_end)
