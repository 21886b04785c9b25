"""The reference subscriber: an authority's deliveries, applied into its own database.

Reads ``rps.deliveries.<authority>.v1``, applies each batch of deliveries by
decision id and version (see ``consumers._apply`` and ``consumers._batch``),
records them in history and saves the consumed position in the same
transaction; only then does it commit the Kafka offsets and acknowledge each
decision to the hub (``delivery.applied``, with the history table as the
outbox: ``consumers._acks``), the acknowledgements going out while the next
batch is applied. Councils are welcome to copy it.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

import infra
from consumers._acks import Acknowledger, Retry
from consumers._apply import Delivery, Outcome, ack_status
from consumers._database import create_engine
from consumers._metrics import DELIVERIES
from consumers._render import holdings_json, holdings_table
from consumers._repository import AuthorityStore, HistoryEntry, Holding, PendingAck
from consumers._retry import retry as retry_database
from consumers._runner import Positions, Runner, RunStats
from consumers._sql_store import SqlAuthorityStore
from consumers._wire import to_delivery
from consumers.errors import ConfigurationError
from rps import tracing
from rps.logs import get_logger
from rps.settings import Settings, redact_url
from schemas.topics import Topics, authority_slug

__all__ = [
    "HistoryEntry",
    "Holding",
    "Outcome",
    "RunStats",
    "default_db_url",
    "group_id",
    "history",
    "holdings",
    "holdings_json",
    "holdings_table",
    "open_store",
    "subscribe",
]

log = get_logger("consumers.subscriber")
_TRACER = tracing.tracer("rps.subscriber")


class _Subscription:
    """The subscriber's projection: one authority's deliveries into its store."""

    def __init__(
        self, settings: Settings, authority: str, store: AuthorityStore, retry: Retry
    ) -> None:
        topics = Topics(settings.topic_prefix)
        self.topics: tuple[str, ...] = (topics.deliveries(authority),)
        self._authority = authority
        self._store = store
        self._acks = Acknowledger(
            authority, topics.acknowledgements, store, retry, settings.subscriber_batch_size
        )
        self._unacked: list[PendingAck] = []  # committed, to hand over after the batch
        self._traces: dict[str, tracing.Trace] = {}  # decision id -> its trace context

    async def start(self, producer: AIOKafkaProducer) -> None:
        await self._store.prepare()
        await self._store.purge_expired(datetime.now(UTC))
        await self._acks.resend(producer)  # whatever a crash left in the outbox

    async def positions(self) -> dict[tuple[str, int], int]:
        topic = self.topics[0]
        stored = await self._store.positions(topic)
        return {(topic, partition): offset for partition, offset in stored.items()}

    def decode(self, record: Any) -> Delivery:
        delivery = to_delivery(record, self._authority)
        trace = tracing.of_record(record.value, record.headers)
        if trace[0] is not None:
            self._traces[delivery.decision_id] = trace
        return delivery

    async def write(self, items: Sequence[Delivery], positions: Positions, now: datetime) -> None:
        started = time.time_ns()
        async with self._store.unit() as unit:
            outcomes = await unit.apply_all(items, now)
            for (topic, partition), offset in positions.items():
                await unit.save_position(topic, partition, offset)
        self._spans(items, outcomes, started, time.time_ns())
        self._unacked += [
            PendingAck(d.decision_id, d.subject, d.local_reference, now, ack_status(outcome))
            for d, outcome in zip(items, outcomes, strict=True)
            if outcome is not Outcome.DUPLICATE  # recorded in history, so acknowledged
        ]
        for outcome, count in Counter(outcomes).items():
            DELIVERIES.labels(self._authority, outcome.value).inc(count)
        for delivery, outcome in zip(items, outcomes, strict=True):
            log.info(
                "delivery",
                decision_id=delivery.decision_id,
                version=delivery.version,
                decision=outcome.value,
                authority=self._authority,
            )

    def _spans(
        self, items: Sequence[Delivery], outcomes: Sequence[Outcome], started: int, ended: int
    ) -> None:
        """An ``apply`` span for each delivery, child of the worker's decision, over the time
        its batch took to apply and commit."""
        for delivery, outcome in zip(items, outcomes, strict=True):
            parent = tracing.context_of(*self._traces.pop(delivery.decision_id, (None, None)))
            attributes = {"rps.decision_id": delivery.decision_id, "rps.outcome": outcome.value}
            span = _TRACER.start_span(
                "apply", context=parent, attributes=attributes, start_time=started
            )
            span.end(end_time=ended)

    async def after_commit(self, producer: AIOKafkaProducer) -> None:
        pending, self._unacked = self._unacked, []
        await self._acks.hand_over(producer, pending)

    async def drain(self, producer: AIOKafkaProducer) -> None:
        await self._acks.flush()

    async def idle(self, now: datetime) -> None:
        await self._acks.flush()  # a failure of the last batch's acknowledgements shows here
        purged = await self._store.purge_expired(now)
        if purged:
            log.info("retention passed: values deleted", count=purged, authority=self._authority)

    async def close(self) -> None:
        await self._acks.cancel()
        await self._store.close()


def default_db_url(settings: Settings, authority: str) -> str:
    """SQLite under the state directory: ``<state_dir>/authorities/<slug>.db``."""
    path = settings.state_dir.expanduser().absolute() / "authorities" / f"{_slug(authority)}.db"
    return f"sqlite+aiosqlite:///{path}"


def _slug(authority: str) -> str:
    try:
        return authority_slug(authority)
    except ValueError:
        raise ConfigurationError(
            "AUTHORITY", "must be a 9-character GSS code or urn:org:<name>"
        ) from None


def open_store(db_url: str, settings: Settings | None = None) -> SqlAuthorityStore:
    """The authority's store at ``db_url``, with the retention policy from ``settings``."""
    days = settings.subscriber_retention_days if settings else 0
    return SqlAuthorityStore(create_engine(db_url), timedelta(days=days) if days else None)


async def subscribe(
    settings: Settings, authority: str, db_url: str, *, stop_at_end: bool = False
) -> RunStats:
    """Run the subscriber for ``authority`` until stopped (or caught up, with ``stop_at_end``)."""
    slug = _slug(authority)
    store = open_store(db_url, settings)
    log.info("subscribing", authority=authority, database=redact_url(db_url))
    try:  # subscribed to a topic that does not exist yet, the consumer would never see it
        await infra.ensure_delivery_topic(settings, authority)
    except (KafkaError, infra.InfraError) as error:  # a credential that may not create topics
        log.warning(
            "delivery topic not checked", authority=authority, error_type=type(error).__name__
        )
    tracing.configure("subscriber")
    retry = functools.partial(
        retry_database,
        attempts=settings.consumer_db_attempts,
        backoff=settings.consumer_db_backoff_seconds,
    )
    projection = _Subscription(settings, authority, store, retry)
    runner: Runner[Delivery] = Runner(
        settings,
        projection,
        group_id=group_id(settings, authority),
        client_id=f"rps-subscriber-{slug}",
        batch_size=settings.subscriber_batch_size,
    )
    return await runner.run(stop_at_end=stop_at_end)


def group_id(settings: Settings, authority: str) -> str:
    """``RPS_SUBSCRIBER_GROUP_ID``, or ``<topic_prefix>-subscriber-<authority slug>``.

    The topic prefix keeps two deployments sharing one cluster out of each other's group.
    """
    return settings.subscriber_group_id or f"{settings.topic_prefix}-subscriber-{_slug(authority)}"


async def holdings(db_url: str, *, with_values: bool = False) -> list[Holding]:
    """What the authority's database holds: reference, attribute, provenance; values if asked."""
    store = open_store(db_url)
    try:
        await store.prepare()
        return await store.holdings(with_values=with_values)
    finally:
        await store.close()


async def history(db_url: str, local_reference: str | None = None) -> list[HistoryEntry]:
    """Every decision the authority received, once each, oldest first."""
    store = open_store(db_url)
    try:
        await store.prepare()
        return await store.history(local_reference)
    finally:
        await store.close()
