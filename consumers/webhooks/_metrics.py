"""The webhook process's metrics and readiness.

- ``rps_webhook_deliveries_total{authority,outcome}``: deliveries by their final
  outcome (``applied``: a 2xx; ``refused``: a 4xx, dead-lettered;
  ``dead_lettered``: a record that could not be read);
- ``rps_webhook_attempts_total{authority,result}``: every POST tried, by its
  result (``2xx``, ``3xx``, ``4xx``, ``429``, ``5xx``, ``timeout``,
  ``connection_error``);
- ``rps_webhook_post_seconds{authority}``: how long the endpoint took to answer;
- ``rps_webhook_acknowledged_total{authority}``: acknowledgements sent to the hub;
- ``rps_consumer_lag_records{group,topic,partition}`` (shared, :mod:`rps.metrics`).

Ready means: the producer started, the endpoint store opened and the
authority's endpoint read (``endpoint``), and the group joined (a first
assignment, even an empty one).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from rps.metrics import Health

DELIVERIES = Counter(
    "rps_webhook_deliveries",
    "Webhook deliveries by their final outcome.",
    ["authority", "outcome"],
)
ATTEMPTS = Counter(
    "rps_webhook_attempts", "Webhook POSTs tried, by their result.", ["authority", "result"]
)
POST_SECONDS = Histogram(
    "rps_webhook_post_seconds",
    "Seconds the authority's endpoint took to answer a POST.",
    ["authority"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ACKNOWLEDGED = Counter(
    "rps_webhook_acknowledged",
    "Acknowledgements of webhook deliveries sent to the hub.",
    ["authority"],
)

CONDITIONS = ("producing", "endpoint", "joined")


def relay_health() -> Health:
    """The webhook process's health, every condition unmet until the relay says otherwise."""
    health = Health()
    health.require(*CONDITIONS)
    return health


def status_result(status: int) -> str:
    """The ``result`` label of an answered POST: ``429`` on its own, else the status class."""
    if status == 429:
        return "429"
    return f"{status // 100}xx"
