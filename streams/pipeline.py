"""The worker's per-event path: decide, record, send, ack — in that order.

The order is what makes "nothing accepted is lost" and "no second effect" hold
without Kafka transactions:

1. the core decides; the resident's new profile is written to the table's
   changelog *together with an outbox*: the encoded outputs of the decision;
2. once the changelog record is acknowledged, the outputs (deliveries,
   endings, audit records) are sent;
3. once every output is acknowledged, the input is acked, so its offset may
   be committed (Faust flushes the producer before it commits).

A crash before (2) sent nothing: the input is decided afresh on restart, as if
for the first time. A crash after (2) left the decision recorded: the input is
seen again as a duplicate and its outbox is sent again (deliveries byte for byte,
audit records linked afresh at the chain's end), which a subscriber applying by
decision id and version ignores. No output ever leaves
the worker that its recorded state does not account for. Stages are pipelined:
the agent moves on while earlier records are in flight, and inputs are acked
strictly in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import schemas
from rps.logs import get_logger
from rps.settings import Settings
from rps.topics import Topics
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

log = get_logger("worker")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Send = Callable[..., Awaitable[Awaitable[Any]]]


Record = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]
"""An output to send: (topic, key, value, headers)."""

_REMEMBERED = 100_000  # input ids whose outputs are known sent, so outboxes can drop them
_TIP_SECONDS = 15.0  # one read of an audit partition's newest record, at most
_TIP_ATTEMPTS = 4  # then the worker stops, and the group hands the partition on


@dataclass(slots=True)
class _Pending:
    event: Any
    input_id: str
    changelog: Awaitable[Any] | None
    records: list[Record]
    partition: int  # audit records go to the input's partition: one chain each
    futures: list[Awaitable[Any]] = field(default_factory=list)


async def _in_order(*writes: Awaitable[Any] | None) -> None:
    for write in writes:
        if write is not None:
            await write


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
        last_audit: Callable[[int], Awaitable[bytes | None]],
    ) -> None:
        self.topics = Topics(settings.topic_prefix)
        self._send = send
        self._profiles = profiles
        self._schedule = schedule
        self._directory = directory
        self._ensure_topic = ensure_topic
        self._crash = crash
        self._last_audit = last_audit
        self._tips: dict[int, str] = {}  # audit partition -> hash the next record links to
        self._audit_sent: dict[int, Awaitable[Any]] = {}  # partition -> its latest audit send
        self._key = settings.pseudonym_key.get_secret_value().encode()
        self._keys = audit_chain.parse_keys(
            settings.audit_key_id,
            settings.audit_key.get_secret_value(),
            settings.audit_keys.get_secret_value(),
        )
        self._known_topics: dict[str, str] = {}
        self._recorded: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=2000)
        self._sent_queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=2000)
        self._stages: list[asyncio.Task[None]] = []
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._crash_after = settings.fault_crash_after
        self._crash_at = settings.fault_crash_at
        self._settled = self._recorded_count = 0

    # -- the agent's entry point --------------------------------------------------------

    async def handle(self, event: Any) -> None:
        """Process one record of the attributes, consents or control topic."""
        self._start_stages()
        message = event.message
        now = expiry.utcnow()
        partition = message.partition
        head = self._head(partition)
        try:
            item = self._decode(message)
        except PoisonMessage as poison:
            pid = f"kafka:{message.topic}:{partition}:{message.offset}"
            if pid in head.outbox:  # rejected and recorded before a restart: the same outputs
                records = self._stored(head.outbox[pid])
            else:
                records = await self._audit_rejection(message, poison, now)
                if records:
                    head.outbox[pid] = self._storable(records)
            log.warning(
                "input rejected",
                reason=poison.reason,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
            )
            dead = self._dead_letter_record(message, poison.reason)
            headed = self._store_head(partition, head) if records else None
            await self._recorded.put(_Pending(event, pid, headed, [dead, *records], partition))
            return
        key = item.resident.encode()
        raw = self._profiles.get(key)
        profile, outbox = codec.decode_stored(raw) if raw else (Profile(item.resident), {})
        digest = getattr(item, "digest", "")  # control messages carry none
        if item.id in outbox and profile.state.seen.get(item.id) == digest:
            # Decided and recorded before a restart: record it again (a local store may be
            # ahead of the changelog) and send the same outputs again, byte for byte.
            records = self._stored(outbox[item.id])
            again = self._profiles.send_changelog(message.partition, key, raw)
            headed = self._store_head(partition, head)
            await self._recorded.put(
                _Pending(event, item.id, _in_order(again, headed), records, partition)
            )
            return
        in_head = f"{item.resident}|{item.id}|{digest}"  # the head holds many residents' ids
        if in_head in head.outbox:  # decided, changing no profile, before a restart
            records = self._stored(head.outbox[in_head])
            headed = self._store_head(partition, head)
            await self._recorded.put(_Pending(event, in_head, headed, records, partition))
            return
        outcome = decide(profile, item, self._directory.directory, now)
        records = await self._records(outcome, now)
        changelog = None
        if outcome.profile != profile:
            kept = {i: r for i, r in outbox.items() if i not in self._sent}
            if records:
                kept[item.id] = self._storable(records)
            encoded = codec.encode_profile(outcome.profile, kept)
            self._profiles.data[key] = encoded  # visible to the next event at once
            changelog = self._profiles.send_changelog(message.partition, key, encoded)
            due = next_expiry(outcome.profile)
            if due is not None and due != next_expiry(profile):
                expiry.add(self._schedule, message.partition, item.resident, due)
        elif records:
            head.outbox[in_head] = self._storable(records)
            changelog = self._store_head(partition, head)
        if outcome.rejected:
            records.append(self._dead_letter_record(message, outcome.rejected))
        self._log(outcome)
        settled = item.id if outcome.profile != profile else in_head
        await self._recorded.put(_Pending(event, settled, changelog, records, partition))

    async def drain(self) -> None:
        """Wait until every input handed to ``handle`` is settled."""
        await self._recorded.join()
        await self._sent_queue.join()

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

    def _store_head(self, partition: int, head: audit_chain.Head) -> Awaitable[Any]:
        """Record the partition's head next to its profiles (same changelog partition), so a
        restarted worker or a new owner of the partition continues the chain."""
        head.outbox = {i: r for i, r in head.outbox.items() if i not in self._sent}
        key, value = audit_chain.head_key(partition), audit_chain.encode_head(head)
        self._profiles.data[key] = value
        written: Awaitable[Any] = self._profiles.send_changelog(partition, key, value)
        return written

    def _audit_record(self, entry: Any, now: Any) -> Record:
        """An audit record, not yet linked: it joins its partition's chain when it is sent."""
        key, value = codec.encode_audit(entry, now)
        return (self.topics.audit, key, value, None)

    @staticmethod
    def _stored(stored: list[tuple[str, str, str]]) -> list[Record]:
        """Outputs recorded before a restart, to send again."""
        return [(t, k.encode(), v.encode(), None) for t, k, v in stored]

    async def _linked(self, partition: int, value: bytes) -> bytes:
        """The audit record linked to the newest record of its partition, as it is sent."""
        tip = self._tips.get(partition)
        if tip is None:  # first record since this worker took the partition over
            tip = audit_chain.tip_of(await self._newest_audit(partition))
        linked, self._tips[partition] = audit_chain.link_bytes(value, tip, self._keys)
        return linked

    async def _newest_audit(self, partition: int) -> bytes | None:
        """The partition's newest audit record, read again when a read does not finish in time.

        Every output waits behind this read, so it must not hang. It waits only for this
        worker's own latest audit send to that partition (flushing the whole producer, as it
        once did, could hold every output for minutes). A read that does not finish in time
        is abandoned and tried afresh; after the last try the error stops the worker
        (``_fail``) rather than leaving its inputs unsettled for ever.
        """
        for attempt in range(1, _TIP_ATTEMPTS + 1):
            try:
                async with asyncio.timeout(_TIP_SECONDS):
                    sent = self._audit_sent.get(partition)
                    if sent is not None:  # what this worker sent there is in the log first
                        await asyncio.shield(sent)
                    return await self._last_audit(partition)
            except TimeoutError:
                log.warning(
                    "newest audit record not read in time", partition=partition, count=attempt
                )
        raise TimeoutError(f"audit partition {partition}: newest record not read")

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions handed to another worker: their chain continues from the topic."""
        for partition in partitions:
            self._tips.pop(partition, None)

    @staticmethod
    def _storable(records: list[Record]) -> list[tuple[str, str, str]]:
        return [(t, (k or b"").decode(), (v or b"").decode()) for t, k, v, _ in records]

    def _log(self, outcome: Outcome) -> None:
        if outcome.deliveries or outcome.endings:
            log.info(
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

    async def _audit_rejection(self, message: Any, poison: PoisonMessage, now: Any) -> list[Record]:
        resident = (message.key or b"").decode("utf-8", "replace")
        if not _UUID.match(resident):
            return []  # no resident to file it under; the dead letter carries it
        cause = poison.__cause__
        event_id = getattr(cause, "event_id", None) or (
            f"kafka:{message.topic}:{message.partition}:{message.offset}"
        )
        entry = rejection(resident, event_id, "Rejected", "", poison.reason)
        return [self._audit_record(entry, now)]

    # -- the two stages ------------------------------------------------------------------

    def _start_stages(self) -> None:
        if not self._stages:
            self._stages = [
                asyncio.create_task(self._send_when_recorded()),
                asyncio.create_task(self._ack_when_sent()),
            ]

    async def _send_when_recorded(self) -> None:
        """Stage 1, in input order: wait for the changelog record, then send the outputs."""
        while True:
            pending = await self._recorded.get()
            try:
                if pending.changelog is not None:
                    await pending.changelog
                    self._recorded_count += 1
                    if self._crash_at == "recorded" and self._recorded_count == self._crash_after:
                        os._exit(86)  # fault injection: decision recorded, outputs not sent
                futures = []
                for topic, key, value, headers in pending.records:
                    partition = None
                    if topic == self.topics.audit and value is not None:
                        partition = pending.partition
                        value = await self._linked(partition, value)
                    future = await self._send(topic, key, value, headers, partition)
                    if partition is not None:
                        self._audit_sent[partition] = future
                    futures.append(future)
                pending.futures = futures
                await self._sent_queue.put(pending)
            except BaseException as error:
                await self._fail(error)
                raise
            finally:
                self._recorded.task_done()

    async def _ack_when_sent(self) -> None:
        """Stage 2, in input order: wait until Kafka has every output, then ack the input."""
        while True:
            pending = await self._sent_queue.get()
            try:
                for future in pending.futures:
                    await future
                self._settled += 1
                if self._crash_at == "sent" and self._settled == self._crash_after:
                    os._exit(86)  # fault injection: outputs sent, offset not committed
                if pending.input_id:
                    self._sent[pending.input_id] = None
                    while len(self._sent) > _REMEMBERED:
                        self._sent.popitem(last=False)
                pending.event.ack()
            except BaseException as error:
                await self._fail(error)
                raise
            finally:
                self._sent_queue.task_done()

    async def _fail(self, error: BaseException) -> None:
        log.error("output not acknowledged; stopping", error_type=type(error).__name__)
        await self._crash(error)

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
