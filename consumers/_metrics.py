"""The consuming processes' metrics (subscribers and the read model) and their readiness.

- ``rps_consumer_records_total{group,outcome}``: records read, by what became of
  them (``written``: handed to the database; ``skipped``; ``dead_lettered``);
- ``rps_consumer_batches_total{group}``: database transactions committed;
- ``rps_subscriber_deliveries_total{authority,outcome}``: deliveries by how the
  authority's database took them (``applied``, ``duplicate``, ``stale`` ...);
- ``rps_subscriber_acknowledged_total{authority}``: acknowledgements sent to the hub;
- ``rps_consumer_lag_records{group,topic,partition}`` (shared, :mod:`rps.metrics`).

Ready means: the producer started, the database prepared and its positions
read (``restored``), and the group joined (a first assignment, even an empty one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter

from rps.metrics import CONSUMER_LAG, Health

RECORDS = Counter(
    "rps_consumer_records", "Records read, by what became of them.", ["group", "outcome"]
)
BATCHES = Counter("rps_consumer_batches", "Database transactions committed.", ["group"])
DELIVERIES = Counter(
    "rps_subscriber_deliveries",
    "Deliveries by how the authority's database took them.",
    ["authority", "outcome"],
)
ACKNOWLEDGED = Counter(
    "rps_subscriber_acknowledged", "Acknowledgements sent to the hub.", ["authority"]
)

CONDITIONS = ("producing", "restored", "joined")


def consumer_health() -> Health:
    """A consuming process's health, every condition unmet until the runner says otherwise."""
    health = Health()
    health.require(*CONDITIONS)
    return health


class Lag:
    """Sets the lag gauge of each assigned partition; forgets partitions no longer assigned."""

    def __init__(self, group: str) -> None:
        self._group = group
        self._shown: set[tuple[str, int]] = set()

    async def refresh(self, consumer: AIOKafkaConsumer, assigned: Iterable[Any]) -> None:
        shown: set[tuple[str, int]] = set()
        for tp in assigned:
            end = consumer.highwater(tp)
            if end is None:
                continue
            position = await consumer.position(tp)
            CONSUMER_LAG.labels(self._group, tp.topic, str(tp.partition)).set(
                max(0, end - position)
            )
            shown.add((tp.topic, tp.partition))
        for topic, partition in self._shown - shown:
            CONSUMER_LAG.remove(self._group, topic, str(partition))
        self._shown = shown
