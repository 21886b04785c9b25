"""The worker's per-event path: decode, decide with the core, send, then record state, then ack.

The order is what makes "nothing accepted is lost" and "no second effect" hold:

1. every output of a decision (deliveries, endings, audit, dead letter) is
   sent and *acknowledged by Kafka*;
2. only then is the resident's new profile written to the table's changelog;
3. only then is the input acked, so its offset may be committed (Faust
   flushes the producer before it commits).

A crash before (2) leaves the old profile: the input is processed again and
yields the same decisions with the same ids and versions, which an idempotent
subscriber ignores. A crash after (2) leaves the new profile: the input is seen
as a duplicate and yields nothing more, its outputs already being in Kafka.
Outputs are pipelined: the agent moves on while earlier outputs are in
flight, and a single settler acknowledges inputs strictly in order.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import schemas
from rps.logs import get_logger
from rps.settings import Settings
from rps.topics import Topics
from streams import codec, expiry
from streams.core import (
    Claim,
    Input,
    Outcome,
    Profile,
    Reevaluate,
    Retraction,
    SubscriptionChange,
    decide,
    next_expiry,
    rejection,
)
from streams.directory import SubscriptionDirectory
from streams.errors import PoisonMessage

log = get_logger("worker")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Send = Callable[..., Awaitable[Awaitable[Any]]]


@dataclass(slots=True)
class _Pending:
    futures: list[Awaitable[Any]]
    event: Any
    key: bytes | None
    profile: bytes | None
    partition: int


class Processor:
    """Turns one inbound record into sent outputs, a recorded profile and an ack."""

    def __init__(
        self,
        settings: Settings,
        send: Send,
        profiles: Any,
        schedule: Any,
        directory: SubscriptionDirectory,
        ensure_topic: Callable[[str], Awaitable[str]],
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.topics = Topics(settings.topic_prefix)
        self._send = send
        self._profiles = profiles
        self._schedule = schedule
        self._directory = directory
        self._ensure_topic = ensure_topic
        self._crash = crash
        self._key = settings.pseudonym_key.get_secret_value().encode()
        self._known_topics: dict[str, str] = {}
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=2000)
        self._settler: asyncio.Task[None] | None = None

    # -- the agent's entry point --------------------------------------------------------

    async def handle(self, event: Any) -> None:
        """Process one record of the attributes, consents or control topic."""
        if self._settler is None:
            self._settler = asyncio.create_task(self._settle())
        message = event.message
        now = expiry.utcnow()
        try:
            item = self._decode(message)
        except PoisonMessage as poison:
            futures = [await self._dead_letter(message, poison.reason)]
            futures += await self._audit_rejection(message, poison, now)
            log.warning(
                "input rejected",
                reason=poison.reason,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
            )
            await self._queue.put(_Pending(futures, event, None, None, message.partition))
            return
        key = item.resident.encode()
        raw = self._profiles.get(key)
        profile = codec.decode_profile(raw) if raw else Profile(item.resident)
        outcome = decide(profile, item, self._directory.directory, now)
        futures = await self._emit(outcome, message, now)
        encoded = None
        if outcome.profile != profile:
            encoded = codec.encode_profile(outcome.profile)
            self._profiles.data[key] = encoded  # visible to the next event; changelog waits
            due = next_expiry(outcome.profile)
            if due is not None and due != next_expiry(profile):
                expiry.add(self._schedule, message.partition, item.resident, due)
        await self._queue.put(_Pending(futures, event, key, encoded, message.partition))

    async def drain(self) -> None:
        """Wait until every input handed to ``handle`` is settled."""
        await self._queue.join()

    # -- decoding ------------------------------------------------------------------------

    def _decode(self, message: Any) -> Input:
        if message.topic == self.topics.control:
            try:
                return codec.decode_control(message.value)
            except codec.ControlError as error:
                raise PoisonMessage("not_a_control_message") from error
        try:
            item = codec.decode_inbound(message.value, message.headers or ())
        except schemas.InvalidEvent as error:
            first = error.errors[0] if error.errors else None
            reason = f"{first.rule}:{first.field}" if first else "invalid"
            raise PoisonMessage("invalid_event", reason) from error
        if isinstance(item, SubscriptionChange):
            raise PoisonMessage("wrong_topic", "subscription changes go to the subscriptions topic")
        expected = (
            self.topics.attributes if isinstance(item, Claim | Retraction) else self.topics.consents
        )
        if message.topic != expected:
            raise PoisonMessage("wrong_topic", f"this event type belongs on {expected}")
        if (message.key or b"") != item.resident.encode():
            raise PoisonMessage("key_mismatch", "the record key must be the event's subject")
        return item

    # -- sending -------------------------------------------------------------------------

    async def _emit(self, outcome: Outcome, message: Any, now: Any) -> list[Awaitable[Any]]:
        futures: list[Awaitable[Any]] = []
        if outcome.rejected:
            futures.append(await self._dead_letter(message, outcome.rejected))
        for ending in outcome.endings:  # endings first: a new reference ends the old one
            topic = await self._delivery_topic(ending.authority)
            futures.append(await self._send(topic, *codec.encode_ending(ending, self._key, now)))
        for delivery in outcome.deliveries:
            topic = await self._delivery_topic(delivery.authority)
            futures.append(
                await self._send(topic, *codec.encode_delivery(delivery, self._key, now))
            )
        for entry in outcome.audit:
            futures.append(await self._send(self.topics.audit, *codec.encode_audit(entry, now)))
        if outcome.deliveries or outcome.endings:
            log.info(
                "decided",
                resident=outcome.profile.resident,
                delivered=len(outcome.deliveries),
                count=len(outcome.endings),
                version=outcome.profile.sequence,
            )
        return futures

    async def _delivery_topic(self, authority: str) -> str:
        topic = self._known_topics.get(authority)
        if topic is None:
            topic = await self._ensure_topic(authority)
            self._known_topics[authority] = topic
        return topic

    async def _dead_letter(self, message: Any, reason: str) -> Awaitable[Any]:
        headers = [
            *(message.headers or ()),
            ("rps.dlq.reason", reason.encode()),
            ("rps.dlq.topic", str(message.topic).encode()),
            ("rps.dlq.partition", str(message.partition).encode()),
            ("rps.dlq.offset", str(message.offset).encode()),
        ]
        return await self._send(self.topics.deadletter, message.key, message.value, headers)

    async def _audit_rejection(
        self, message: Any, poison: PoisonMessage, now: Any
    ) -> list[Awaitable[Any]]:
        resident = (message.key or b"").decode("utf-8", "replace")
        if not _UUID.match(resident):
            return []  # no resident to file it under; the dead letter carries it
        cause = poison.__cause__
        event_id = getattr(cause, "event_id", None) or (
            f"kafka:{message.topic}:{message.partition}:{message.offset}"
        )
        entry = rejection(resident, event_id, "Rejected", "", poison.reason)
        return [await self._send(self.topics.audit, *codec.encode_audit(entry, now))]

    # -- settling ------------------------------------------------------------------------

    async def _settle(self) -> None:
        """Strictly in input order: await outputs, write the changelog, ack the input."""
        while True:
            pending = await self._queue.get()
            try:
                for future in pending.futures:
                    await future
                if pending.key is not None and pending.profile is not None:
                    self._profiles.send_changelog(pending.partition, pending.key, pending.profile)
                pending.event.ack()
            except BaseException as error:  # a send Kafka refused for good: fail the worker
                log.error("output not acknowledged; stopping", error_type=type(error).__name__)
                await self._crash(error)
                raise
            finally:
                self._queue.task_done()

    # -- re-evaluation requests ----------------------------------------------------------

    async def request_reevaluation(
        self, resident: str, reason: str, cause: str, partition: int | None = None
    ) -> None:
        """Ask the resident's partition to look at it again (expiry, new subscription)."""
        item = Reevaluate(f"{reason}:{cause}:{resident}", resident, reason)
        await self._send(
            self.topics.control, resident.encode(), codec.encode_control(item), None, partition
        )
