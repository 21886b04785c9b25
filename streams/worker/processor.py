"""The worker's per-event path: decode, decide, encode; the result is a :class:`Decision`.

For each input the core decides against the resident's stored profile; the new
profile, and the decision's outbox entry under its own key (:mod:`streams.worker.keeping`),
are kept in the store at once (the next input sees them). The returned decision says
what to record and what to send; the stages (:mod:`streams.worker.stages`) do it, in the order
:mod:`streams.worker.outbox` states. An input seen again after a restart finds
its outbox entry and is given the same outputs again instead of a second decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
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
from streams.worker import audit_records, codec, expiry, inputs, keeping, rejections, stored
from streams.worker.directory import SubscriptionDirectory
from streams.worker.errors import PoisonMessage
from streams.worker.observer import NoObserver, Observer
from streams.worker.outbox import Decision, Record, Write
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
        send: Send,
        observer: Observer | None = None,
        keys: DataKeys | None = None,
        registry: Registry | None = None,
    ) -> None:
        """``registry`` given, every inbound event must be admitted (``streams.worker.trust``)
        before it has any effect; without it (``RPS_TRUST=off``) none is checked."""
        self.topics = Topics(settings.topic_prefix)
        self._profiles = profiles
        self._schedule = schedule
        self._directory = directory
        self._ensure_topic = ensure_topic
        self._keeper = keeping.Keeper(profiles)
        self._send = send
        self._keys = keys
        self._registry = registry
        self._key = settings.pseudonym_key.get_secret_value().encode()
        self._known_topics: dict[str, str] = {}
        self._observer = observer or NoObserver()
        self._tracer = tracing.tracer("rps.worker")
        self._log = log.bind()  # bound once: a lazy logger binds again on every call

    # -- the agent's entry point --------------------------------------------------------

    async def handle(self, record: InputRecord) -> Decision:
        """Decide one record of the attributes, consents or control topic, or recall the
        decision its outbox entry kept before a restart."""
        now = expiry.utcnow()
        partition = record.partition
        try:
            item, signer = await inputs.decode(record, self.topics, self._registry)
        except PoisonMessage as poison:
            return self._reject(record, poison, now)
        raw = self._profiles.get(item.resident.encode())
        data_key = await self._data_key(item)
        profile, legacy = stored.decode_stored(raw) if raw else (Profile(item.resident), {})
        recalled = self._keeper.recall(partition, item, raw, profile, legacy, data_key)
        if recalled.decision is not None:
            return recalled.decision
        decided = await self._decide(record, item, signer, profile, raw, data_key, now)
        if decided is None:
            return self._reject(record, PoisonMessage("state_too_large"), now)
        outcome, records = decided
        changed = outcome.profile != profile  # a deep comparison: once per input
        entry = keeping.entry_id(item)
        sealing = data_key if changed and not isinstance(item, Erase) else None  # erasure: plain
        kept = self._keeper.keep(entry, records, changed, item.id, sealing, item.resident)
        writes = self._store(partition, item, profile, outcome, data_key) if changed else []
        if changed and legacy:  # a first-format profile's entries go under their own keys
            kept += self._keeper.carry(profile, legacy)
        await self._report(record, item, outcome, records)
        settles = entry if records or recalled.stale else ""
        return Decision(settles, partition, writes, records, kept)

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
            records = await self._records(
                outcome,
                now,
                (tracing.current()[0], None),
                data_key,
                audit_records.signed(item.id, signer),
            )
        return outcome, records

    def _store(
        self, partition: int, item: Input, profile: Profile, outcome: Outcome, key: DataKey | None
    ) -> list[Write]:
        """Keep the changed profile (the profile alone) and schedule its next expiry when that
        moved; the writes to record."""
        resident = item.resident.encode()
        encoded = stored.encode_profile(outcome.profile, key)
        self._profiles.put(resident, encoded)  # visible to the next event at once
        due = next_expiry(outcome.profile)
        if due is not None and due != next_expiry(profile):
            expiry.add(self._schedule, partition, item.resident, due)
        return [(resident, encoded)]

    async def _report(
        self, record: InputRecord, item: Input, outcome: Outcome, records: list[Record]
    ) -> None:
        """Dead-letter what the core rejected, tell the observer, shred an erased resident's
        key and log the decision."""
        if outcome.rejected:
            records.append(self._dead_letter_record(record, outcome.rejected))
            self._observer.rejected(outcome.rejected)
        self._observer.decided(type(item).__name__, outcome)
        if isinstance(item, Erase) and self._keys is not None:
            await self._keys.forget(item.resident)  # what stayed sealed is shredded
        self._note(outcome)

    def _reject(self, record: InputRecord, poison: PoisonMessage, now: datetime) -> Decision:
        """Dead-letter a poison input, and audit it under its resident when it names one
        (kept under the input's position)."""
        partition = record.partition
        entry = f"kafka:{record.topic}:{partition}:{record.offset}"
        found = self._keeper.rejected(entry) or self._keeper.legacy_head(partition, entry)
        if found is not None:  # rejected and recorded before a restart: the same outputs
            records, write = found
            kept = [write]
        else:
            records = self._audit_rejection(record, poison, now)
            kept = self._keeper.keep(entry, records, False, entry)
        self._log.warning(
            "input rejected",
            reason=poison.reason,
            topic=record.topic,
            partition=partition,
            offset=record.offset,
        )
        dead = self._dead_letter_record(record, poison.reason)
        self._observer.rejected(poison.reason)
        return Decision(entry if kept else "", partition, [], [dead, *records], kept)

    async def _data_key(self, item: Input) -> DataKey | None:
        """The resident's data key when values are sealed (none is made for an erasure)."""
        if self._keys is None:
            return None
        return await self._keys.key_for(item.resident, create=not isinstance(item, Erase))

    # -- outputs -------------------------------------------------------------------------

    async def _records(
        self,
        outcome: Outcome,
        now: datetime,
        trace: codec.Trace = (None, None),
        data_key: DataKey | None = None,
        signed: Callable[[AuditEntry], AuditEntry] | None = None,
    ) -> list[Record]:
        """The encoded outputs of a decision: endings first, then deliveries (their values
        opened with the resident's ``data_key`` when stored sealed), then audit (the input's
        own entries naming its signer, when ``signed`` says so)."""
        records: list[Record] = []
        for ending in outcome.endings:  # a new reference ends the old one first
            topic = await self._delivery_topic(ending.authority)
            records.append((topic, *codec.encode_ending(ending, self._key, now), None))
        stamp = codec.instant(now)  # one time for every output of the decision
        for delivery in outcome.deliveries:
            if data_key is not None and delivery.claim is not None:
                claim = delivery.claim
                value = stored.opened_value(data_key, claim.value, claim.resident, claim.id)
                delivery = replace(delivery, claim=replace(claim, value=value))
            topic = await self._delivery_topic(delivery.authority)
            encoded = codec.encode_delivery(delivery, self._key, stamp, trace)
            records.append((topic, *encoded, None))
        for entry in outcome.audit:
            records.append(self._audit_record(signed(entry) if signed else entry, stamp))
        return records

    # -- audit records -----------------------------------------------------------------

    def _audit_record(self, entry: AuditEntry, now: datetime | str) -> Record:
        """An audit record, not yet linked: it joins its partition's chain when it is sent."""
        key, value = audit_records.encode_audit(entry, now)
        return (self.topics.audit, key, value, None)

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

    def _dead_letter_record(self, message: InputRecord, reason: str) -> Record:
        return rejections.dead_letter_record(self.topics.deadletter, message, reason)

    async def dead_letter(self, record: InputRecord, reason: str) -> None:
        """Send one input to the dead-letter topic on its own (a refused subscription change)."""
        topic, key, value, headers = self._dead_letter_record(record, reason)
        await (await self._send(topic, key, value, headers))

    def _audit_rejection(
        self, message: InputRecord, poison: PoisonMessage, now: datetime
    ) -> list[Record]:
        entry = rejections.rejection_entry(message, poison)
        return [] if entry is None else [self._audit_record(entry, now)]

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
