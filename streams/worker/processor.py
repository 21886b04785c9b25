"""The worker's per-event path: decode, decide, encode; the result is a :class:`Decision`.

For each input the core decides against the resident's stored profile; the new
profile, and the decision's outbox entry under its own key (:mod:`streams.worker.keeping`),
are kept in the store at once (the next input sees them). The returned decision says
what to record and what to send; the stages (:mod:`streams.worker.stages`) do it, in the order
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
from streams.worker import audit_records, codec, expiry, inputs, keeping, rejections, stored
from streams.worker.directory import SubscriptionDirectory
from streams.worker.errors import PoisonMessage
from streams.worker.observer import NoObserver, Observer
from streams.worker.outbox import Decision, Record, Write
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
        send: Send,
        keys: DataKeys,
        observer: Observer | None = None,
        registry: Registry | None = None,
    ) -> None:
        """``keys`` seal what the facts log keeps (and, with ``RPS_SEAL_PROFILES``, the values
        the stored profiles keep). ``registry`` given, every inbound event must be admitted
        (``streams.worker.trust``) before it has any effect; without it (``RPS_TRUST=off``)
        none is checked."""
        self.topics = Topics(settings.topic_prefix)
        self._seal_profiles = settings.seal_profiles
        self._profiles = profiles
        self._schedule = schedule
        self._directory = directory
        self._outputs = Outputs(settings, ensure_topic, keys)
        self._keeper = keeping.Keeper(profiles, sealed=frozenset({self.topics.facts}))
        self._send = send
        self._keys = keys
        self._registry = registry
        self._observer = observer or NoObserver()
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
        profile, legacy = stored.decode_stored(raw) if raw else (Profile(item.resident), {})
        recalled = self._keeper.recall(partition, item, raw, profile, legacy, data_key)
        if recalled.decision is not None:
            return recalled.decision
        decided = await self._decide(record, item, signer, profile, raw, data_key, now)
        if decided is None:
            return await self._reject(record, PoisonMessage("state_too_large"), now)
        outcome, records = decided
        changed = outcome.profile != profile  # a deep comparison: once per input
        entry = keeping.entry_id(item)
        if changed:
            logged = await self._outputs.logged(record, item, profile, outcome, data_key, now)
            if logged is not None:
                records.insert(0, logged)
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
        inbound = tracing.of_record(record.value, record.headers)
        span = {"rps.event_id": item.id}
        with tracing.continued(self._tracer, "decide", inbound, span) as parent:
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
                (parent, None),
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
        if isinstance(item, Erase) and outcome.profile.erased:
            await self._keys.forget(item.resident)  # what stayed sealed is shredded
        self._note(outcome)

    async def _reject(self, record: InputRecord, poison: PoisonMessage, now: datetime) -> Decision:
        """Dead-letter a poison input, and audit it under its resident when it names one, or
        under its authority when it is a refused subscription change (kept under the input's
        position, with its facts log record when it was refused for its origin or its
        publisher's role)."""
        partition = record.partition
        entry = f"kafka:{record.topic}:{partition}:{record.offset}"
        found = self._keeper.rejected(entry) or self._keeper.legacy_head(partition, entry)
        if found is not None:  # rejected and recorded before a restart: the same outputs
            records, write = found
            kept = [write]
        else:
            audited = rejections.rejection_entry(record, poison)
            records = [] if audited is None else [self._audit_record(audited, now)]
            refused = await self._outputs.refused(record, poison, now)
            if refused is not None:
                records.insert(0, refused)
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

    # -- audit records -------------------------------------------------------------------

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
