"""When consents expire: a per-partition schedule, so expiry costs what expires, not what is held.

Entries live in a Faust table keyed ``"<partition>:<minute>"`` whose value is
the list of ``[resident, expires_at]`` due in that minute. They are written
while processing an event of that partition, so each entry lives in the
changelog partition of the residents it names and follows them on rebalance.
A timer reads only the minutes that have passed and asks each due resident's
partition to re-evaluate it (a control message), so the decision is still
taken by the agent that owns the resident, in order with its other events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from datetime import UTC, datetime

import orjson

BUCKET_SECONDS = 60
LOOKBACK_BUCKETS = 7 * 24 * 60  # a week of minutes, for consents that expired while no worker ran


def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp()) // BUCKET_SECONDS


def key(partition: int, bucket: int) -> bytes:
    return f"{partition}:{bucket}".encode()


def add(
    schedule: MutableMapping[bytes, bytes], partition: int, resident: str, expires_at: datetime
) -> None:
    """Record that ``resident`` must be looked at again at ``expires_at`` (idempotent)."""
    slot = key(partition, bucket_of(expires_at))
    raw = schedule.get(slot)
    entries: list[list[str]] = orjson.loads(raw) if raw else []
    entry = [resident, expires_at.isoformat()]
    if entry not in entries:
        entries.append(entry)
        schedule[slot] = orjson.dumps(entries)


class Cursor:
    """Which minutes a worker has already swept, per partition (in memory; re-sweeping is safe)."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._sent: set[tuple[str, str]] = set()

    def due(
        self, schedule: MutableMapping[bytes, bytes], partitions: Iterable[int], now: datetime
    ) -> list[tuple[int, str, str]]:
        """(partition, resident, expires_at) for every entry now due and not yet asked for."""
        current = bucket_of(now)
        found: list[tuple[int, str, str]] = []
        for partition in partitions:
            start = self._next.get(partition, current - LOOKBACK_BUCKETS)
            for bucket in range(start, current + 1):
                raw = schedule.get(key(partition, bucket))
                if not raw:
                    continue
                for resident, expires_at in orjson.loads(raw):
                    if (resident, expires_at) in self._sent:
                        continue
                    if datetime.fromisoformat(expires_at) <= now:
                        self._sent.add((resident, expires_at))
                        found.append((partition, resident, expires_at))
            self._next[partition] = current  # the current minute is swept again next time
        return found


Request = Callable[[str, str, str, int], Awaitable[None]]
"""``request(resident, reason, cause, partition)``: ask that partition to re-evaluate a resident."""


class Sweep:
    """The timer's job: ask the partition of every resident now due to re-evaluate it."""

    def __init__(self, schedule: MutableMapping[bytes, bytes], request: Request) -> None:
        self._schedule = schedule
        self._request = request
        self._cursor = Cursor()

    async def run(self, partitions: Iterable[int]) -> None:
        """Sweep the minutes passed of ``partitions`` (those this worker holds)."""
        for partition, resident, due in self._cursor.due(self._schedule, partitions, utcnow()):
            await self._request(resident, "expiry", due, partition)


def utcnow() -> datetime:
    return datetime.now(UTC)
