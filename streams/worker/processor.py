"""The worker's per-event path: decode, decide, encode; the result is a :class:`Decision`.

For each input the core decides against the resident's stored profile; the new
profile, holding the decision's outbox entry, is kept in the store at once (the
next input sees it). The returned decision says what to record and what to
send; the stages (:mod:`streams.worker.stages`) do it, in the order
:mod:`streams.worker.outbox` states. An input seen again after a restart finds
its outbox entry and is given the same outputs again instead of a second decision.
A subscriptions record changes nothing here (every directory applies what it admits); a
refused one is dead-lettered and audited once, by its partition's owner.
An input that changed the resident's state, and an erasure, is also appended to
the facts log (:mod:`streams.worker.facts_log`) as one of those outputs
(:mod:`streams.worker.outputs` encodes them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime

import schemas
from rps import tracing
from rps.logs import get_logger
from rps.sealing import DataKey
from rps.settings import Settings
from schemas.registry import Signer
from schemas.topics import Topics
from streams.core import (
    AuditEntry,
    Erase,
    Input,
    Outcome,
    Profile,
    Reevaluate,
    decide,
    next_expiry,
)
from streams.worker import audit_chain, audit_records, codec, expiry, inputs, rejections, stored
from streams.worker.directory import SubscriptionDirectory
from streams.worker.errors import PoisonMessage
from streams.worker.observer import NoObserver, Observer
from streams.worker.outbox import Decision, Record, Write, again, kept
from streams.worker.outputs import Outputs
from streams.worker.ports import DataKeys, InputRecord, ProfileStore, Registry, Send

log = get_logger("worker")


class Processor:
    """Turns one inbound record into a :class:`Decision`: what to record, what to send."""

    def __init__(
        self,
        settings: Settings,
        profiles: ProfileStore,
        schedule: MutableMapping[bytes, bytes],
        directory: SubscriptionDirectory,
        ensure_topic: Callable[[str], Awaitable[str]],
        known_sent: Callable[[str], bool],
        send: Send,
        keys: DataKeys,
        observer: Observer | None = None,
        drain: Callable[[], Awaitable[None]] | None = None,
        registry: Registry | None = None,
    ) -> None:
        """``keys`` seal what the facts log keeps (and, with ``RPS_SEAL_PROFILES``, the values
        the stored profiles keep). ``registry`` given, every inbound event must be admitted
        (``streams.worker.trust``) before it has any effect; without it (``RPS_TRUST=off``)
        none is checked."""
        self.topics = Topics(settings.topic_prefix)
        self._seal_profiles = settings.seal_profiles
        self._kept_sealed = frozenset({self.topics.facts})  # sealed already: not sealed again
        self._profiles = profiles
        self._schedule = schedule
        self._directory = directory
        self._outputs = Outputs(settings, ensure_topic, keys)
        self._known_sent = known_sent
        self._send = send
        self._keys = keys
        self._registry = registry
        self._observer = observer or NoObserver()
        self._drain = drain or _nothing_in_flight
        self._tracer = tracing.tracer("rps.worker")
        self._log = log.bind()  # bound once: a lazy logger binds again on every call

    # -- the agent's entry point --------------------------------------------------------

    async def handle(self, record: InputRecord) -> Decision:
        """Decide one record of the attributes, consents or control topic, or recall the
        decision its outbox entry kept before a restart."""
        now = expiry.utcnow()
        partition = record.partition
        if record.topic == self.topics.subscriptions:
            return await self._subscription(record, now)
        try:
            item, signer = await inputs.decode(record, self.topics, self._registry)
        except PoisonMessage as poison:
            return await self._reject(record, poison, now)
        raw = self._profiles.get(item.resident.encode())
        data_key = await self._data_key(item)
        profile, entries = stored.decode_stored(raw) if raw else (Profile(item.resident), {})
        digest = getattr(item, "digest", "")  # control messages carry none
        head_entry = f"{item.resident}|{item.id}|{digest}"  # a head holds many residents' ids
        recalled = self._recall(partition, item, raw, profile, entries, data_key, head_entry)
        if isinstance(recalled, Decision):
            return recalled
        head = recalled
        decided = await self._decide(record, item, signer, profile, raw, data_key, now)
        if decided is None:
            return await self._reject(record, PoisonMessage("state_too_large"), now)
        outcome, records = decided
        changed = outcome.profile != profile  # a deep comparison: once per input
        if changed:
            logged = await self._outputs.logged(record, item, profile, outcome, data_key, now)
            if logged is not None:
                records.insert(0, logged)
            writes = await self._store(
                partition, item, profile, outcome, entries, records, data_key
            )
        elif records:
            head.outbox[head_entry] = kept(records)
            writes = [self._store_head(partition, head)]
        else:
            writes = []
        await self._report(record, item, outcome, records)
        return Decision(item.id if changed else head_entry, partition, writes, records)

    def _recall(
        self,
        partition: int,
        item: Input,
        raw: bytes | None,
        profile: Profile,
        entries: stored.Outbox,
        data_key: DataKey | None,
        head_entry: str,
    ) -> Decision | audit_chain.Head:
        """The decision kept for an input seen before (in the resident's profile, or in the
        partition's head when it changed no profile); for a new input, the partition's head."""
        digest = getattr(item, "digest", "")
        seen_before = profile.state.seen.get(item.id) == digest or (
            isinstance(item, Erase) and item.id in profile.erased
        )
        if raw and item.id in entries and seen_before:
            # Kept in the profile: record it again (a local store may be ahead of the
            # changelog) and send the same outputs again, byte for byte.
            head_write = self._store_head(partition, self._head(partition))
            entry = stored.opened_entry(data_key, item.resident, item.id, entries[item.id])
            return Decision(
                item.id, partition, [(item.resident.encode(), raw), head_write], again(entry)
            )
        head = self._head(partition)
        if head_entry in head.outbox:  # kept in the head: it changed no profile
            kept_there = again(head.outbox[head_entry])
            return Decision(head_entry, partition, [self._store_head(partition, head)], kept_there)
        return head

    async def _decide(
        self,
        record: InputRecord,
        item: Input,
        signer: Signer | None,
        profile: Profile,
        raw: bytes | None,
        data_key: DataKey | None,
        now: datetime,
    ) -> tuple[Outcome, list[Record]] | None:
        """The core's outcome for a new input and its encoded outputs, traced; ``None`` when
        the resident's state would grow too large to store."""
        parent = tracing.context_of(*tracing.of_record(record.value, record.headers))
        with self._tracer.start_as_current_span(
            "decide", context=parent, attributes={"rps.event_id": item.id}
        ):
            outcome = decide(profile, item, self._directory.directory, now)
            # The trace id travels on; an inbound tracestate (free text a publisher chose) does not.
            # One input adds at most a record's 64 KiB, so only a large stored profile can pass.
            if len(raw or b"") > stored.MAX_STATE_BYTES // 2 and stored.state_too_large(
                item.resident, outcome.profile.state
            ):
                return None
            records = await self._outputs.of(
                outcome,
                now,
                (tracing.current()[0], None),
                data_key,
                audit_records.signed(item.id, signer),
            )
        return outcome, records

    async def _store(
        self,
        partition: int,
        item: Input,
        profile: Profile,
        outcome: Outcome,
        entries: stored.Outbox,
        records: list[Record],
        data_key: DataKey | None,
    ) -> list[Write]:
        """Keep the changed profile, holding the input's outbox entry, and schedule its next
        expiry when that moved; the writes to record."""
        key = item.resident.encode()
        entries = {i: r for i, r in entries.items() if not self._known_sent(i)}
        if records:
            entries[item.id] = kept(records)
        plain = frozenset({item.id}) if isinstance(item, Erase) else frozenset()
        sealed = self._kept_sealed
        encoded = stored.encode_profile(outcome.profile, entries, data_key, plain, sealed)
        if len(encoded) > stored.MAX_RECORD_BYTES and len(entries) > 1:
            # Outputs of earlier inputs still in flight crowd the outbox: wait for them to
            # be sent (their outbox entries can then go) rather than pass the record limit.
            await self._drain()
            entries = {i: r for i, r in entries.items() if not self._known_sent(i)}
            encoded = stored.encode_profile(outcome.profile, entries, data_key, plain, sealed)
        self._profiles.put(key, encoded)  # visible to the next event at once
        due = next_expiry(outcome.profile)
        if due is not None and due != next_expiry(profile):
            expiry.add(self._schedule, partition, item.resident, due)
        return [(key, encoded)]

    async def _report(
        self, record: InputRecord, item: Input, outcome: Outcome, records: list[Record]
    ) -> None:
        """Dead-letter what the core rejected, tell the observer, shred an erased resident's
        key and log the decision."""
        if outcome.rejected:
            records.append(self._dead_letter_record(record, outcome.rejected))
            self._observer.rejected(outcome.rejected)
        self._observer.decided(type(item).__name__, outcome)
        if isinstance(item, Erase) and outcome.profile.erased:
            await self._keys.forget(item.resident)  # what stayed sealed is shredded
        self._note(outcome)

    async def _reject(self, record: InputRecord, poison: PoisonMessage, now: datetime) -> Decision:
        """Dead-letter a poison input, and audit it under its resident when it names one, or
        under its authority when it is a refused subscription change (kept in the head under
        the input's position, with its facts log record when it was refused for its origin or
        its publisher's role)."""
        partition = record.partition
        head = self._head(partition)
        entry = f"kafka:{record.topic}:{partition}:{record.offset}"
        if entry in head.outbox:  # rejected and recorded before a restart: the same outputs
            records = again(head.outbox[entry])
        else:
            audited = rejections.rejection_entry(record, poison)
            records = [] if audited is None else [self._audit_record(audited, now)]
            refused = await self._outputs.refused(record, poison, now)
            if refused is not None:
                records.insert(0, refused)
            if records:
                head.outbox[entry] = kept(records)
        self._log.warning(
            "input rejected",
            reason=poison.reason,
            topic=record.topic,
            partition=partition,
            offset=record.offset,
        )
        dead = self._dead_letter_record(record, poison.reason)
        self._observer.rejected(poison.reason)
        writes = [self._store_head(partition, head)] if records else []
        return Decision(entry, partition, writes, [dead, *records])

    async def _subscription(self, record: InputRecord, now: datetime) -> Decision:
        """Nothing to do for an admitted subscription change (the directories apply it) or a
        tombstone; a refused one is dead-lettered, and audited as rejected under its authority."""
        try:
            await inputs.subscription(record, self.topics, self._registry)
        except PoisonMessage as poison:
            return await self._reject(record, poison, now)
        return Decision("", record.partition, [], [])

    async def _data_key(self, item: Input) -> DataKey | None:
        """The resident's data key when stored values are sealed (none is made for an
        erasure)."""
        if not self._seal_profiles:
            return None
        return await self._keys.key_for(item.resident, create=not isinstance(item, Erase))

    # -- the audit chain -----------------------------------------------------------------

    def _head(self, partition: int) -> audit_chain.Head:
        return audit_chain.decode_head(self._profiles.get(audit_chain.head_key(partition)))

    def _store_head(self, partition: int, head: audit_chain.Head) -> Write:
        """Keep the partition's head next to its profiles (same changelog partition), so a
        restarted worker or a new owner of the partition continues the chain."""
        head.outbox = {i: r for i, r in head.outbox.items() if not self._known_sent(i)}
        key, value = audit_chain.head_key(partition), audit_chain.encode_head(head)
        self._profiles.put(key, value)
        return key, value

    def _audit_record(self, entry: AuditEntry, now: datetime | str) -> Record:
        """An audit record, not yet linked: it joins its partition's chain when it is sent."""
        return self._outputs.audit(entry, now)

    def _note(self, outcome: Outcome) -> None:
        if outcome.deliveries or outcome.endings:
            self._log.info(
                "decided",
                resident=outcome.profile.resident,
                delivered=len(outcome.deliveries),
                count=len(outcome.endings),
                version=outcome.profile.sequence,
            )

    def _dead_letter_record(self, message: InputRecord, reason: str) -> Record:
        return rejections.dead_letter_record(self.topics.deadletter, message, reason)

    # -- re-evaluation requests ----------------------------------------------------------

    async def request_reevaluation(
        self, resident: str, reason: str, cause: str, partition: int | None = None
    ) -> None:
        """Ask the resident's partition to look at it again (expiry, new subscription)."""
        digest = hashlib.sha256(f"{reason}|{cause}|{resident}".encode()).hexdigest()[:32]
        item = Reevaluate(f"{reason}:{digest}", resident, reason)
        await self._send(
            self.topics.control,
            resident.encode(),
            codec.encode_control(item),
            schemas.structured_headers(),
            partition,
        )


async def _nothing_in_flight() -> None:
    """No stages to wait for (a processor used alone, as in the unit tests)."""
