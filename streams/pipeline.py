"""The worker's per-event path: decode, decide, encode, and hand the decision to the stages.

For each input the core decides against the resident's stored profile; the new
profile, holding an *outbox* of the decision's encoded outputs, is kept in the
table at once (the next input sees it) and handed, with the outputs, to
:mod:`streams.stages`, which records it in the changelog, sends the outputs and
then acks the input. An input seen again after a restart finds its outbox and
sends the same outputs again instead of deciding twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import schemas
from rps.logs import get_logger
from rps.settings import Settings
from schemas.topics import Topics
from streams import audit_chain, codec, expiry
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
from streams.stages import Pending, Record, Stages, Write

log = get_logger("worker")

Send = Callable[..., Awaitable[Awaitable[Any]]]
"""``send(topic, key, value, headers, partition)``: queue a record; await the result for its ack."""

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Processor:
    """Turns one inbound record into a decision handed, with its outputs, to the stages."""

    def __init__(
        self,
        settings: Settings,
        send: Send,
        profiles: Any,
        schedule: Any,
        directory: SubscriptionDirectory,
        ensure_topic: Callable[[str], Awaitable[str]],
        stages: Stages,
    ) -> None:
        self.topics = Topics(settings.topic_prefix)
        self._send = send
        self._profiles = profiles
        self._schedule = schedule
        self._directory = directory
        self._ensure_topic = ensure_topic
        self._stages = stages
        self._key = settings.pseudonym_key.get_secret_value().encode()
        self._known_topics: dict[str, str] = {}
        self._log = log.bind()  # bound once: a lazy logger binds again on every call

    # -- the agent's entry point --------------------------------------------------------

    async def handle(self, event: Any) -> None:
        """Process one record of the attributes, consents or control topic."""
        message = event.message
        now = expiry.utcnow()
        partition = message.partition
        try:
            item = self._decode(message)
        except PoisonMessage as poison:
            await self._reject(event, poison, now)
            return
        key = item.resident.encode()
        raw = self._profiles.get(key)
        profile, outbox = codec.decode_stored(raw) if raw else (Profile(item.resident), {})
        digest = getattr(item, "digest", "")  # control messages carry none
        if item.id in outbox and profile.state.seen.get(item.id) == digest:
            # Decided and recorded before a restart: record it again (a local store may be
            # ahead of the changelog) and send the same outputs again, byte for byte.
            again = [(key, raw), self._store_head(partition, self._head(partition))]
            records = self._stored(outbox[item.id])
            await self._stages.put(Pending(event, item.id, partition, again, records))
            return
        in_head = f"{item.resident}|{item.id}|{digest}"  # the head holds many residents' ids
        head = self._head(partition)
        if in_head in head.outbox:  # decided, changing no profile, before a restart
            records = self._stored(head.outbox[in_head])
            headed = [self._store_head(partition, head)]
            await self._stages.put(Pending(event, in_head, partition, headed, records))
            return
        outcome = decide(profile, item, self._directory.directory, now)
        # One input adds at most a record's 64 KiB, so only a large stored profile can pass.
        if len(raw or b"") > codec.MAX_STATE_BYTES // 2 and codec.state_too_large(
            item.resident, outcome.profile.state
        ):
            await self._reject(event, PoisonMessage("state_too_large"), now)
            return
        records = await self._records(outcome, now)
        writes: list[Write] = []
        changed = outcome.profile != profile  # a deep comparison: once per input
        if changed:
            kept = {i: r for i, r in outbox.items() if not self._stages.known_sent(i)}
            if records:
                kept[item.id] = self._storable(records)
            encoded = codec.encode_profile(outcome.profile, kept)
            if len(encoded) > codec.MAX_RECORD_BYTES and len(kept) > 1:
                # Outputs of earlier inputs still in flight crowd the outbox: wait for them to
                # be sent (their outbox entries can then go) rather than pass the record limit.
                await self._stages.drain()
                kept = {i: r for i, r in kept.items() if not self._stages.known_sent(i)}
                encoded = codec.encode_profile(outcome.profile, kept)
            self._profiles.data[key] = encoded  # visible to the next event at once
            writes.append((key, encoded))
            due = next_expiry(outcome.profile)
            if due is not None and due != next_expiry(profile):
                expiry.add(self._schedule, partition, item.resident, due)
        elif records:
            head.outbox[in_head] = self._storable(records)
            writes.append(self._store_head(partition, head))
        if outcome.rejected:
            records.append(self._dead_letter_record(message, outcome.rejected))
        self._note(outcome)
        settled = item.id if changed else in_head
        await self._stages.put(Pending(event, settled, partition, writes, records))

    async def _reject(self, event: Any, poison: PoisonMessage, now: Any) -> None:
        """Dead-letter a poison input, and audit it under its resident when it names one."""
        message = event.message
        partition = message.partition
        head = self._head(partition)
        pid = f"kafka:{message.topic}:{partition}:{message.offset}"
        if pid in head.outbox:  # rejected and recorded before a restart: the same outputs
            records = self._stored(head.outbox[pid])
        else:
            records = self._audit_rejection(message, poison, now)
            if records:
                head.outbox[pid] = self._storable(records)
        self._log.warning(
            "input rejected",
            reason=poison.reason,
            topic=message.topic,
            partition=partition,
            offset=message.offset,
        )
        dead = self._dead_letter_record(message, poison.reason)
        writes = [self._store_head(partition, head)] if records else []
        await self._stages.put(Pending(event, pid, partition, writes, [dead, *records]))

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

    # -- outputs -------------------------------------------------------------------------

    async def _records(self, outcome: Outcome, now: Any) -> list[Record]:
        """The encoded outputs of a decision: endings first, then deliveries, then audit."""
        records: list[Record] = []
        for ending in outcome.endings:  # a new reference ends the old one first
            topic = await self._delivery_topic(ending.authority)
            records.append((topic, *codec.encode_ending(ending, self._key, now), None))
        stamp = codec.instant(now)  # one time for every output of the decision
        for delivery in outcome.deliveries:
            topic = await self._delivery_topic(delivery.authority)
            records.append((topic, *codec.encode_delivery(delivery, self._key, stamp), None))
        for entry in outcome.audit:
            records.append(self._audit_record(entry, stamp))
        return records

    # -- the audit chain -----------------------------------------------------------------

    def _head(self, partition: int) -> audit_chain.Head:
        return audit_chain.decode_head(self._profiles.get(audit_chain.head_key(partition)))

    def _store_head(self, partition: int, head: audit_chain.Head) -> Write:
        """Keep the partition's head next to its profiles (same changelog partition), so a
        restarted worker or a new owner of the partition continues the chain."""
        head.outbox = {i: r for i, r in head.outbox.items() if not self._stages.known_sent(i)}
        key, value = audit_chain.head_key(partition), audit_chain.encode_head(head)
        self._profiles.data[key] = value
        return key, value

    def _audit_record(self, entry: Any, now: Any) -> Record:
        """An audit record, not yet linked: it joins its partition's chain when it is sent."""
        key, value = codec.encode_audit(entry, now)
        return (self.topics.audit, key, value, None)

    @staticmethod
    def _stored(stored: list[tuple[str, str, str]]) -> list[Record]:
        """Outputs recorded before a restart, to send again."""
        return [(t, k.encode(), v.encode(), None) for t, k, v in stored]

    @staticmethod
    def _storable(records: list[Record]) -> list[tuple[str, str, str]]:
        return [(t, (k or b"").decode(), (v or b"").decode()) for t, k, v, _ in records]

    def _note(self, outcome: Outcome) -> None:
        if outcome.deliveries or outcome.endings:
            self._log.info(
                "decided",
                resident=outcome.profile.resident,
                delivered=len(outcome.deliveries),
                count=len(outcome.endings),
                version=outcome.profile.sequence,
            )

    async def _delivery_topic(self, authority: str) -> str:
        topic = self._known_topics.get(authority)
        if topic is None:
            topic = await self._ensure_topic(authority)
            self._known_topics[authority] = topic
        return topic

    def _dead_letter_record(self, message: Any, reason: str) -> Record:
        headers = [
            *(message.headers or ()),
            ("rps.dlq.reason", reason.encode()),
            ("rps.dlq.topic", str(message.topic).encode()),
            ("rps.dlq.partition", str(message.partition).encode()),
            ("rps.dlq.offset", str(message.offset).encode()),
        ]
        return (self.topics.deadletter, message.key, message.value, headers)

    def _audit_rejection(self, message: Any, poison: PoisonMessage, now: Any) -> list[Record]:
        resident = (message.key or b"").decode("utf-8", "replace")
        if not _UUID.match(resident):
            return []  # no resident to file it under; the dead letter carries it
        cause = poison.__cause__
        event_id = getattr(cause, "event_id", None) or (
            f"kafka:{message.topic}:{message.partition}:{message.offset}"
        )
        entry = rejection(resident, event_id, "Rejected", "", poison.reason)
        return [self._audit_record(entry, now)]

    # -- re-evaluation requests ----------------------------------------------------------

    async def request_reevaluation(
        self, resident: str, reason: str, cause: str, partition: int | None = None
    ) -> None:
        """Ask the resident's partition to look at it again (expiry, new subscription)."""
        digest = hashlib.sha256(f"{reason}|{cause}|{resident}".encode()).hexdigest()[:32]
        item = Reevaluate(f"{reason}:{digest}", resident, reason)
        await self._send(
            self.topics.control, resident.encode(), codec.encode_control(item), None, partition
        )
