"""Dead letters for operators: list them, look at one, send one back to its topic once.

A dead letter (``<prefix>.deadletter.v1``) holds the original key, value and
headers of a record that could not be processed, with ``rps.dlq.*`` headers
saying why (``reason``) and where it came from (``topic``, ``partition``,
``offset``). Each is named by its own position on the dead-letter topic,
``PARTITION:OFFSET``.

What operators do to dead letters is recorded on the operations topic
(``<prefix>.operations.v1``, kept like the audit topic), keyed by that
position, one JSON record per action:

- ``viewed``: the value (personal data) was shown to an operator;
- ``redriven``: the record was sent back to its original topic (a fixed value,
  when one was given, is recorded by its SHA-256, never its content).

A redrive reads that topic first and is refused for a dead letter already
redriven, so each is sent back once. Nothing here prints or logs a value
unless :func:`show` is asked for values, and then the viewing is recorded first.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

import schemas
from rps import topic_admin
from rps.logs import get_logger
from rps.producing import TrackingProducer
from rps.reading import partitions_of, read_to_end
from rps.settings import Settings
from schemas.topics import Topics

__all__ = [
    "DeadLetter",
    "DeadLetterError",
    "Shown",
    "by_reason",
    "list_dead_letters",
    "parse_position",
    "redrive",
    "show",
]

log = get_logger("operators.deadletters")

_DLQ = "rps.dlq."


class DeadLetterError(Exception):
    """A dead letter that does not exist, cannot be sent back, or was sent back already."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter, described without its key's or value's content."""

    partition: int
    offset: int
    time: datetime
    reason: str
    origin_topic: str
    origin_partition: int | None
    origin_offset: int | None
    size: int
    event_type: str | None
    event_id: str | None
    redriven_at: datetime | None

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["position"] = self.position
        out["time"] = self.time.isoformat()
        out["redriven_at"] = self.redriven_at.isoformat() if self.redriven_at else None
        return out


@dataclass(frozen=True, slots=True)
class Shown:
    """A dead letter, its header names, and (only when asked) its key and value."""

    letter: DeadLetter
    header_names: list[str]
    key: bytes | None = None
    value: bytes | None = None


def parse_position(text: str) -> tuple[int, int]:
    """``PARTITION:OFFSET`` as two numbers, or an error naming the expected form."""
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise DeadLetterError("a dead letter is named PARTITION:OFFSET, e.g. 0:42")
    return int(partition), int(offset)


async def _ensure_operations_topic(settings: Settings) -> None:
    """Create the operations topic when missing (the first action recorded on it)."""
    spec = Topics(settings.topic_prefix).operations_spec()
    admin = await topic_admin.started_admin(settings)
    try:
        if spec.name not in await topic_admin.partition_counts(admin, [spec.name]):
            await topic_admin.create_missing(admin, settings, [spec])
            await topic_admin.wait_for_leaders(admin, [spec.name])
    finally:
        await admin.close()


async def list_dead_letters(settings: Settings) -> list[DeadLetter]:
    """Every dead letter the topic holds now, oldest first within each partition."""
    topics = Topics(settings.topic_prefix)
    redriven = await _redriven(settings)
    return [
        _describe(record, redriven.get((record.partition, record.offset)))
        for record in await read_to_end(settings, topics.deadletter)
    ]


def by_reason(letters: list[DeadLetter]) -> dict[str, int]:
    """How many dead letters each reason has (redriven ones included)."""
    return dict(sorted(Counter(letter.reason for letter in letters).items()))


async def show(settings: Settings, position: str, *, values: bool = False) -> Shown:
    """One dead letter; its key and value only with ``values``, and then the viewing is
    recorded on the operations topic (and logged) before anything is returned."""
    partition, offset = parse_position(position)
    record = await _read_one(settings, partition, offset)
    letter = _describe(record, (await _redriven(settings)).get((partition, offset)))
    names = [name for name, _ in record.headers or ()]
    if not values:
        return Shown(letter, names)
    await _record_action(settings, letter, "viewed", {})
    log.warning(
        "dead letter values viewed",
        position=letter.position,
        partition=partition,
        offset=offset,
        operator_id=getpass.getuser(),
    )
    return Shown(letter, names, record.key, record.value)


async def redrive(
    settings: Settings, position: str, fixed_value: bytes | None = None
) -> DeadLetter:
    """Send a dead letter back to the topic it came from (with ``fixed_value`` instead of its
    own, when given), once: refused when it was redriven already."""
    partition, offset = parse_position(position)
    record = await _read_one(settings, partition, offset)
    letter = _describe(record, (await _redriven(settings)).get((partition, offset)))
    if letter.redriven_at is not None:
        raise DeadLetterError(
            f"dead letter {letter.position} was redriven already, at "
            f"{letter.redriven_at.isoformat()}"
        )
    topics = Topics(settings.topic_prefix)
    if not letter.origin_topic.startswith(f"{topics.prefix}.") or letter.origin_topic in (
        topics.deadletter,
        topics.operations,
        topics.audit,
    ):
        raise DeadLetterError(f"dead letter {letter.position} came from no topic it can go back to")
    headers = [(name, value) for name, value in record.headers or () if not name.startswith(_DLQ)]
    value = record.value if fixed_value is None else fixed_value
    producer = TrackingProducer(
        acks="all", enable_idempotence=True, **settings.kafka_client_options()
    )
    await producer.start()
    try:
        await producer.send_and_wait(letter.origin_topic, value, record.key, headers=headers)
    finally:
        await producer.stop()
    detail: dict[str, Any] = {"to": letter.origin_topic}
    if fixed_value is not None:
        detail["fixed_value_sha256"] = hashlib.sha256(fixed_value).hexdigest()
    at = await _record_action(settings, letter, "redriven", detail)
    log.info(
        "dead letter redriven",
        position=letter.position,
        topic=letter.origin_topic,
        reason=letter.reason,
        operator_id=getpass.getuser(),
    )
    return _describe(record, at)


# --- reading ----------------------------------------------------------------------------------


async def _read_one(settings: Settings, partition: int, offset: int) -> Any:
    topic = Topics(settings.topic_prefix).deadletter
    tp = TopicPartition(topic, partition)
    if tp not in await partitions_of(settings, topic):
        raise DeadLetterError(f"no dead letter at {partition}:{offset}: no such partition")
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_options())
    await consumer.start()
    try:
        consumer.assign([tp])
        (begin,) = (await consumer.beginning_offsets([tp])).values()
        (end,) = (await consumer.end_offsets([tp])).values()
        if not begin <= offset < end:
            raise DeadLetterError(f"no dead letter at {partition}:{offset}")
        consumer.seek(tp, offset)
        while True:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=1)
            for record in batch.get(tp, []):
                if record.offset == offset:
                    return record
                raise DeadLetterError(f"no dead letter at {partition}:{offset}")
    finally:
        await consumer.stop()


def _describe(record: Any, redriven_at: datetime | None) -> DeadLetter:
    headers = {name: value for name, value in record.headers or () if name.startswith(_DLQ)}

    def text(name: str) -> str:
        return str(headers.get(_DLQ + name, b"").decode("utf-8", "replace"))

    def number(name: str) -> int | None:
        found = text(name)
        return int(found) if found.isdigit() else None

    event_type = event_id = None
    try:
        event = schemas.decode(record.value or b"")
        event_type, event_id = event.type, event.id
    except schemas.InvalidEvent as invalid:
        event_id = invalid.event_id
    except Exception:  # any bytes at all may be here: describe what can be told
        pass
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        time=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        reason=text("reason") or "unknown",
        origin_topic=text("topic"),
        origin_partition=number("partition"),
        origin_offset=number("offset"),
        size=len(record.value or b""),
        event_type=event_type,
        event_id=event_id,
        redriven_at=redriven_at,
    )


# --- the operations topic ---------------------------------------------------------------------


async def _redriven(settings: Settings) -> dict[tuple[int, int], datetime]:
    """When each dead letter was redriven, by its position."""
    topic = Topics(settings.topic_prefix).operations
    found: dict[tuple[int, int], datetime] = {}
    for record in await read_to_end(settings, topic):
        try:
            action = json.loads(record.value or b"")
            if action["action"] == "redriven":
                position = (int(action["partition"]), int(action["offset"]))
                found.setdefault(position, datetime.fromisoformat(action["at"]))
        except (ValueError, KeyError, TypeError):
            continue  # not ours: never taken for a redrive
    return found


async def _record_action(
    settings: Settings, letter: DeadLetter, action: str, detail: dict[str, Any]
) -> datetime:
    await _ensure_operations_topic(settings)
    at = datetime.now(UTC)
    body = {
        "action": action,
        "partition": letter.partition,
        "offset": letter.offset,
        "reason": letter.reason,
        "operator": getpass.getuser(),
        "at": at.isoformat(),
        **detail,
    }
    producer = TrackingProducer(
        acks="all", enable_idempotence=True, **settings.kafka_client_options()
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            Topics(settings.topic_prefix).operations,
            json.dumps(body, sort_keys=True).encode(),
            letter.position.encode(),
        )
    finally:
        await producer.stop()
    return at


def _producer(settings: Settings) -> TrackingProducer:
    return TrackingProducer(acks="all", enable_idempotence=True, **settings.kafka_client_options())
