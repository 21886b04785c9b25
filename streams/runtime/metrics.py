"""The worker's Prometheus metrics and readiness, fed by the worker's observer port and a timer.

Metrics (labels are types, outcomes, reasons, topics and partitions; never a
resident id or a value):

- ``rps_worker_decisions_total{type,outcome}``: inputs decided, by the core's
  name for the input (``claim``, ``consent_grant`` ...) and what became of it
  (the input's own audit decision: ``accepted``, ``superseded``,
  ``duplicate``, ``rejected``, ``consent_recorded`` ...; ``unchanged`` when
  none);
- ``rps_worker_deliveries_total{kind}``: deliveries (``update``) and consent
  endings (``ending``) decided;
- ``rps_worker_withheld_total{reason}``, ``rps_worker_dead_letters_total{reason}``;
- ``rps_worker_batch_size``: decisions the stages handled together;
- ``rps_worker_settled_total``: inputs whose outputs are all in Kafka;
- ``rps_worker_publish_to_delivery_seconds``: from an input's Kafka timestamp
  (its publication) to Kafka's acknowledgement of the deliveries it caused;
- ``rps_worker_producer_errors_total{error}``: outputs not acknowledged;
- ``rps_consumer_lag_records{group,topic,partition}``: records between each
  assigned input partition's end and the worker's position;
- ``rps_worker_restore_remaining_records``: changelog records still to restore.

Counters are incremented once per decision or per batch, from the event loop.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from typing import Any

import faust
from prometheus_client import Counter, Gauge, Histogram

from rps.metrics import CONSUMER_LAG as LAG
from rps.metrics import Health
from schemas.topics import Topics
from streams.core import AuditDecision, Outcome
from streams.worker.outbox import Pending

DECISIONS = Counter(
    "rps_worker_decisions", "Inputs decided, by input type and outcome.", ["type", "outcome"]
)
DELIVERIES = Counter("rps_worker_deliveries", "Deliveries and endings decided.", ["kind"])
WITHHELD = Counter("rps_worker_withheld", "Deliveries withheld, by reason.", ["reason"])
DEAD_LETTERS = Counter("rps_worker_dead_letters", "Inputs dead-lettered, by reason.", ["reason"])
BATCH_SIZE = Histogram(
    "rps_worker_batch_size",
    "Decisions the stages handled together.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
)
SETTLED = Counter("rps_worker_settled", "Inputs whose outputs are all in Kafka.")
LATENCY = Histogram(
    "rps_worker_publish_to_delivery_seconds",
    "From an input's publication (its Kafka timestamp) to its deliveries' acknowledgement.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
PRODUCER_ERRORS = Counter(
    "rps_worker_producer_errors", "Outputs Kafka did not acknowledge.", ["error"]
)
RESTORE_REMAINING = Gauge(
    "rps_worker_restore_remaining_records", "Changelog records still to restore into the tables."
)

_INPUT_DECISIONS = frozenset(AuditDecision) - {
    AuditDecision.DELIVERED,
    AuditDecision.WITHHELD,
    AuditDecision.CONSENT_ENDED,
}
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def _type_name(kind: str) -> str:
    return _SNAKE.sub("_", kind).lower()  # ConsentGrant -> consent_grant


class PrometheusObserver:
    """The worker's observer port, counting into the metrics above."""

    def __init__(self, topic_prefix: str) -> None:
        self._deliveries = f"{Topics(topic_prefix).prefix}.deliveries."
        self._types: dict[str, str] = {}

    def decided(self, kind: str, outcome: Outcome) -> None:
        name = self._types.get(kind) or self._types.setdefault(kind, _type_name(kind))
        result = next(
            (str(e.decision) for e in outcome.audit if e.decision in _INPUT_DECISIONS), "unchanged"
        )
        DECISIONS.labels(name, result).inc()
        if outcome.deliveries:
            DELIVERIES.labels("update").inc(len(outcome.deliveries))
        if outcome.endings:
            DELIVERIES.labels("ending").inc(len(outcome.endings))
        for entry in outcome.audit:
            if entry.decision is AuditDecision.WITHHELD:
                WITHHELD.labels(entry.reason or "unknown").inc()

    def rejected(self, reason: str) -> None:
        DEAD_LETTERS.labels(reason).inc()

    def batch(self, size: int) -> None:
        BATCH_SIZE.observe(size)

    def settled(self, batch: Sequence[Pending]) -> None:
        SETTLED.inc(len(batch))
        now = time.time()
        for pending in batch:
            published = getattr(getattr(pending.event, "message", None), "timestamp", None)
            if published and any(
                topic.startswith(self._deliveries) for topic, *_ in pending.decision.records
            ):
                LATENCY.observe(max(0.0, now - published))

    def failed(self, error: BaseException) -> None:
        PRODUCER_ERRORS.labels(type(error).__name__).inc()


class Readiness:
    """The worker's readiness and its lag and restore gauges.

    Faust's objects are read only from the event loop (:meth:`beat` every second,
    :meth:`refresh` on a timer); the health server's thread reads the flags they set.
    """

    def __init__(self, app: faust.App, group: str, inputs: set[str], health: Health) -> None:
        self._app = app
        self._group = group
        self._inputs = inputs
        self._shown: set[tuple[str, int]] = set()
        self.health = health
        health.require("joined", "restored", "producing", "subscriptions")

    def beat(self) -> None:
        """Tell the health server the loop is alive, and whether the group is joined and the
        tables restored now (a rebalance takes both back until it is over)."""
        app: Any = self._app
        tables: Any = app.tables
        recovery = tables.recovery
        self.health.beat()
        self.health.met("joined", bool(app.consumer_generation_id) and not app.rebalancing)
        self.health.met("restored", bool(recovery.completed.is_set()) and not recovery.in_recovery)

    async def refresh(self) -> None:
        """Set the lag of each assigned input partition and the restore progress."""
        app: Any = self._app
        tables: Any = app.tables
        recovery = tables.recovery
        with contextlib.suppress(AttributeError, KeyError):  # no assignment yet
            RESTORE_REMAINING.set(recovery.active_remaining_total())
        shown: set[tuple[str, int]] = set()
        for tp in app.consumer.assignment():
            if tp.topic not in self._inputs:
                continue
            end = app.consumer.highwater(tp)
            position = await app.consumer.position(tp)
            if end is None or position is None or end < 0:
                continue
            LAG.labels(self._group, tp.topic, str(tp.partition)).set(max(0, end - position))
            shown.add((tp.topic, tp.partition))
        for topic, partition in self._shown - shown:
            LAG.remove(self._group, topic, str(partition))
        self._shown = shown
