"""The port the worker tells what it did, for its metrics (the runtime's Prometheus observer
plugs in); :class:`NoObserver` looks away."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from streams.core import Outcome
from streams.worker.outbox import Pending


class Observer(Protocol):
    """Told what the worker did, for its metrics: names, counts and reasons, never a value."""

    def decided(self, kind: str, outcome: Outcome) -> None:
        """An input of ``kind`` (the core's name for it) was decided."""

    def rejected(self, reason: str) -> None:
        """A poison input went to dead letter."""

    def batch(self, size: int) -> None:
        """The stages took ``size`` decisions together."""

    def settled(self, batch: Sequence[Pending]) -> None:
        """Every output of ``batch`` is in Kafka; its inputs are about to be acked."""

    def failed(self, error: BaseException) -> None:
        """An output was not acknowledged: the worker stops."""


class NoObserver:
    """An observer that looks away (the unit tests, the benchmarks' floor)."""

    def decided(self, kind: str, outcome: Outcome) -> None:
        """Nothing to do."""

    def rejected(self, reason: str) -> None:
        """Nothing to do."""

    def batch(self, size: int) -> None:
        """Nothing to do."""

    def settled(self, batch: Sequence[Pending]) -> None:
        """Nothing to do."""

    def failed(self, error: BaseException) -> None:
        """Nothing to do."""
