"""The gateway's own metrics (requests are counted by :mod:`rps.http_metrics`):

- ``rps_gateway_events_total{outcome}``: events ``accepted`` (Kafka acknowledged
  them) or ``unavailable`` (Kafka did not answer: 503);
- ``rps_gateway_refusals_total{problem}``: requests refused, by the problem
  document's type (``invalid-event``, ``forbidden-source``, ``unauthorized`` ...).
"""

from __future__ import annotations

from prometheus_client import Counter

EVENTS = Counter("rps_gateway_events", "Events by what became of them.", ["outcome"])
REFUSALS = Counter("rps_gateway_refusals", "Requests refused, by problem type.", ["problem"])
