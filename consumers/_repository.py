"""The authority's repository interface: what the subscriber needs from any database.

A unit of work applies a batch of deliveries and saves the consumed position in
the same transaction, so a crash keeps both or neither. ``consumers._sql_store``
(with ``consumers._sql_unit``) implements it for SQLite and PostgreSQL; one test
suite runs against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from consumers._apply import Delivery, Outcome


@dataclass(frozen=True, slots=True)
class Holding:
    """One value an authority holds, with its provenance; ``value`` only when asked for."""

    local_reference: str
    attribute: str
    version: int
    decision_id: str
    claim_id: str | None
    source: str | None
    assurance: str | None
    method: str | None
    verified_at: datetime | None
    applied_at: datetime
    retain_until: datetime | None
    value: Any = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One decision the authority received, once, and what applying it did."""

    decision_id: str
    kind: str
    outcome: str
    local_reference: str
    attributes: tuple[str, ...]
    version: int
    source: str | None
    reason: str | None
    applied_at: datetime
    acknowledged_at: datetime | None
    has_value: bool


@dataclass(frozen=True, slots=True)
class Conflict:
    """A delivery kept aside: its local reference is bound to another resident (pseudonym)."""

    decision_id: str
    kind: str
    local_reference: str
    subject: str
    bound_subject: str
    attributes: tuple[str, ...]
    version: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PendingAck:
    """A decision recorded in history but not yet acknowledged to the hub (the outbox)."""

    decision_id: str
    subject: str
    local_reference: str
    applied_at: datetime
    status: str = "applied"  # "conflict": kept aside, its reference is another resident's


class AuthorityUnit(Protocol):
    """The writes of one transaction."""

    async def apply(self, delivery: Delivery, now: datetime) -> Outcome: ...

    async def apply_all(self, deliveries: Sequence[Delivery], now: datetime) -> list[Outcome]:
        """Apply ``deliveries`` in order, each seeing the ones before it: their outcomes."""
        ...

    async def save_position(self, topic: str, partition: int, next_offset: int) -> None: ...


class AuthorityStore(Protocol):
    """What the subscriber needs from an authority's database."""

    async def prepare(self) -> None: ...

    def unit(self) -> AbstractAsyncContextManager[AuthorityUnit]: ...

    async def positions(self, topic: str) -> dict[int, int]: ...

    async def pending_acks(self, limit: int = 500) -> list[PendingAck]: ...

    async def mark_acked(self, decision_ids: Sequence[str], at: datetime) -> None: ...

    async def purge_expired(self, now: datetime) -> int: ...

    async def holdings(self, *, with_values: bool = False) -> list[Holding]: ...

    async def history(self, local_reference: str | None = None) -> list[HistoryEntry]: ...

    async def conflicts(self) -> list[Conflict]: ...

    async def close(self) -> None: ...
