"""The publisher registry on Kafka: read it whole, append changes (see ``schemas.registry``).

Reading is for the gateway, the operator commands and a worker's start-up; a
running worker keeps its view current by consuming the same topic (the view
is a fold, so it can take records one at a time). Every change is written with
``acks=all`` and logged (source, key id, role and change; never a key).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from rps.logs import get_logger
from rps.reading import partitions_of, read_to_end
from rps.settings import Settings
from schemas.registry import (
    KeyRecorded,
    PublisherRegistered,
    RegistryView,
    Role,
    decode_record,
    encode_record,
    fresh_enough,
    record_key,
)
from schemas.signing import SigningKey
from schemas.topics import Topics

_log = get_logger("rps.registry")


@dataclass(frozen=True, slots=True)
class Entry:
    """One registry record as read back, with the broker's timestamp of its last change."""

    record: PublisherRegistered | KeyRecorded
    written_at: dt.datetime


async def read_entries(settings: Settings) -> list[Entry]:
    """Every registry record the topic holds now (records that do not decode are skipped)."""
    entries = []
    for raw in await read_to_end(settings, Topics(settings.topic_prefix).publishers):
        record = decode_record(raw.value)
        if record is not None:
            written = dt.datetime.fromtimestamp(raw.timestamp / 1000, dt.UTC)
            entries.append(Entry(record, written))
    return entries


async def read_registry(settings: Settings) -> RegistryView:
    """The registry as it stands, caught up as of the moment reading began."""
    started = dt.datetime.now(dt.UTC)
    entries = await read_entries(settings)
    return RegistryView().with_records(entry.record for entry in entries).caught_up(started)


class RegistryFollower:
    """One process's registry view, read again whenever an event needs a fresher one.

    ``await follower.view_for(stamp)`` returns a view that may judge an event
    with record timestamp ``stamp``: when the view it holds is not
    :func:`schemas.registry.fresh_enough` for it, it first reads the registry
    topic on to the end offsets it fetches (reading only what is new). A worker
    calls it once per batch with the batch's newest timestamp.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topic = Topics(settings.topic_prefix).publishers
        self._grace = dt.timedelta(seconds=settings.registry_grace_seconds)
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self.view = RegistryView()
        self._reading = asyncio.Lock()  # the processor and the directory share one reader

    async def start(self) -> RegistryView:
        """Connect and read the whole registry."""
        self._consumer = AIOKafkaConsumer(
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._settings.kafka_client_options(),
        )
        await self._consumer.start()
        return await self.catch_up()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def view_for(self, record_timestamp: dt.datetime) -> RegistryView:
        """A view fresh enough for ``record_timestamp`` (reading on first when needed)."""
        if not fresh_enough(self.view, record_timestamp, self._grace):
            async with self._reading:
                if not fresh_enough(self.view, record_timestamp, self._grace):
                    await self.catch_up()
        return self.view

    async def catch_up(self) -> RegistryView:
        """Read the registry topic on to its end offsets as of now; the view is as of now."""
        if self._consumer is None:
            raise RuntimeError("RegistryFollower.start() first")
        consumer = self._consumer
        started = dt.datetime.now(dt.UTC)
        if not self._partitions:
            self._partitions = await partitions_of(self._settings, self._topic)
            if self._partitions:
                consumer.assign(self._partitions)
                await consumer.seek_to_beginning(*self._partitions)
        if self._partitions:
            ends = await consumer.end_offsets(self._partitions)
            remaining = {tp for tp in self._partitions if await consumer.position(tp) < ends[tp]}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=500)
                records = [record for part in batch.values() for record in part]
                self.view = self.view.with_records(decode_record(r.value) for r in records)
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        self.view = self.view.caught_up(started)
        return self.view


async def write_records(
    settings: Settings, records: Sequence[PublisherRegistered | KeyRecorded], *, change: str
) -> None:
    """Append ``records`` to the registry topic and return once Kafka has them all."""
    topic = Topics(settings.topic_prefix).publishers
    producer = AIOKafkaProducer(
        acks="all", enable_idempotence=True, **settings.kafka_client_options()
    )
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(topic, encode_record(record), key=record_key(record))
            _log.info(
                "registry changed",
                change=change,
                source=record.source,
                role=getattr(record, "role", None),
                key_id=getattr(record, "key_id", None),
            )
    finally:
        await producer.stop()


# Operator changes (`rps publishers`) ----------------------------------------------------------


class RegistryRefused(Exception):
    """An operator change the registry cannot take (say why; name no secret)."""


@dataclass(frozen=True, slots=True)
class IssuedSigningKey:
    """A new key pair: its id, where the private key was written, and from when it is valid."""

    source: str
    role: Role
    key_id: str
    path: Path
    valid_from: dt.datetime


def key_path(settings: Settings, key_id: str) -> Path:
    """Where ``rps publishers`` writes a private key: ``<state dir>/keys/<key id, safe>.pem``."""
    safe = key_id.replace(":", "_").replace("#", "_")
    return settings.state_dir / "keys" / f"{safe}.pem"


def operator_name() -> str:
    """Who runs the command, as recorded in the registry."""
    try:
        return getpass.getuser()[:200]
    except (KeyError, OSError):
        return "unknown"


async def register(
    settings: Settings, source: str, role: Role, *, now: dt.datetime | None = None
) -> IssuedSigningKey:
    """Register ``source`` with ``role`` (once; a role never changes) and give it a first key."""
    now = now or dt.datetime.now(dt.UTC)
    view = await read_registry(settings)
    known = view.roles.get(source)
    if known is not None and known is not role:
        raise RegistryRefused(f"{source} is registered as {known}; a role never changes")
    records: list[PublisherRegistered | KeyRecorded] = []
    if known is None:
        records.append(
            PublisherRegistered(
                source=source, role=role, registered_at=now, registered_by=operator_name()
            )
        )
    issued, key = _new_key(settings, source, role, now)
    await write_records(settings, [*records, key], change="registered" if records else "rotated")
    return issued


async def rotate(
    settings: Settings, source: str, *, now: dt.datetime | None = None
) -> IssuedSigningKey:
    """Give a registered ``source`` one more key; its other keys stay valid until revoked."""
    now = now or dt.datetime.now(dt.UTC)
    role = (await read_registry(settings)).roles.get(source)
    if role is None:
        raise RegistryRefused(f"{source} is not registered: `rps publishers add` it first")
    issued, key = _new_key(settings, source, role, now)
    await write_records(settings, [key], change="rotated")
    return issued


async def revoke(
    settings: Settings, source: str, key_id: str, *, now: dt.datetime | None = None
) -> KeyRecorded:
    """Revoke one key from ``now + grace``: events stamped from then on no longer verify."""
    now = now or dt.datetime.now(dt.UTC)
    current = {
        entry.record.key_id: entry.record
        for entry in await read_entries(settings)
        if isinstance(entry.record, KeyRecorded) and entry.record.source == source
    }
    record = current.get(key_id)
    if record is None:
        raise RegistryRefused(f"{source} has no key {key_id}")
    if record.revoked_at is not None:
        raise RegistryRefused(f"{key_id} is already revoked")
    revoked_at = max(now + _grace(settings), record.added_at)
    revoked = record.model_copy(update={"revoked_at": revoked_at, "changed_by": operator_name()})
    await write_records(settings, [revoked], change="revoked")
    return revoked


def _grace(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.registry_grace_seconds)


def _new_key(
    settings: Settings, source: str, role: Role, now: dt.datetime
) -> tuple[IssuedSigningKey, KeyRecorded]:
    """A fresh key pair: the private half written to a 0600 file, the public half as a record."""
    key_id = f"{source}#{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    signing = SigningKey.generate(key_id)
    path = key_path(settings, key_id)
    signing.write(path)
    valid_from = now + _grace(settings)
    record = KeyRecorded(
        source=source,
        key_id=key_id,
        public_key=signing.public_key(),
        added_at=valid_from,
        changed_by=operator_name(),
    )
    return IssuedSigningKey(source, role, key_id, path, valid_from), record
