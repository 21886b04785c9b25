"""What a round of events leaves in the worker's table: changelog bytes written, and the size of
what is stored afterwards.

The worker's table changelog is read from where it ended before the round to where it ends
after it (the round's records only, so the cost does not grow with the residents). Per key,
the round's last record is what the table now holds for it: a resident's profile, an outbox
entry (``__outbox__:``; a tombstone once deleted), or a partition's chain head::

    footprint = await measure(settings, before)   # before = await ends(settings)

Nothing is asserted; ``tests.perf.rounds`` prints it after each round.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from rps.settings import Settings
from streams.runtime.names import changelog_topic
from streams.worker import entries
from streams.worker.audit_chain import is_reserved
from tests.perf import broker


@dataclass(frozen=True, slots=True)
class Footprint:
    """The changelog records a round wrote, and the state they leave."""

    records: int
    bytes: int
    """Keys and values of every record written (record overhead aside)."""
    profiles: int
    profile_bytes: int
    """Of the profiles written in the round, as they stand after it (their last values)."""
    entries_left: int
    entry_bytes_left: int
    """Outbox entries written in the round and not deleted by its end (under their own keys,
    or kept inside a profile by a format that keeps them there)."""

    def per_event(self, events: int) -> float:
        return self.bytes / max(events, 1)

    def average_profile(self) -> float:
        return self.profile_bytes / max(self.profiles, 1)


async def ends(settings: Settings) -> dict[TopicPartition, int]:
    """Where the worker's changelog ends now, per partition."""
    return await broker.ends(settings, [changelog_topic(settings)])


async def measure(settings: Settings, before: dict[TopicPartition, int]) -> Footprint:
    """The records the changelog gained since ``before``, and the state they leave."""
    after = await ends(settings)
    wanted = {tp: (before.get(tp, 0), end) for tp, end in after.items() if end > before.get(tp, 0)}
    latest: dict[bytes, bytes | None] = {}
    count = size = 0
    if wanted:
        consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_options())
        await consumer.start()
        try:
            consumer.assign(list(wanted))
            for tp, (start, _) in wanted.items():
                consumer.seek(tp, start)
            remaining = set(wanted)
            while remaining:
                fetched = await consumer.getmany(*remaining, timeout_ms=1000)
                for tp, records in fetched.items():
                    for record in records:
                        if record.offset >= wanted[tp][1]:
                            break
                        count += 1
                        size += len(record.key or b"") + len(record.value or b"")
                        latest[record.key or b""] = record.value
                    if records and records[-1].offset >= wanted[tp][1] - 1:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
    kept = [v for k, v in latest.items() if entries.is_entry_key(k) and v is not None]
    profiles = [v for k, v in latest.items() if _is_profile(k) and v is not None]
    inside = sum(_outbox_inside(v) for v in profiles)
    return Footprint(
        count,
        size,
        len(profiles),
        sum(len(v) for v in profiles) - inside,
        len(kept) + sum(1 for v in profiles if _outbox_inside(v)),
        sum(len(v) for v in kept) + inside,
    )


def _is_profile(key: bytes) -> bool:
    return not is_reserved(key) and not entries.is_entry_key(key)


def _outbox_inside(value: bytes) -> int:
    """The bytes of the outbox a first-format profile keeps inside it (0 for none)."""
    if not value.startswith(b'{"o":{') or value.startswith(b'{"o":{}'):
        return 0
    document = orjson.loads(value)
    return len(orjson.dumps(document["o"])) - 2
