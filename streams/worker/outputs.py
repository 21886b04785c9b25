"""A decision's outputs, encoded for Kafka: consent endings and deliveries on each authority's
topic, audit records (linked into their chain only as they are sent), and the facts log record
of an input that changed the resident's state or was refused for its origin or its
publisher's role (:mod:`streams.worker.facts_log`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from rps.sealing import DataKey
from rps.settings import Settings
from schemas.topics import Topics
from streams.core import AuditEntry, Erase, Input, Outcome, Profile
from streams.worker import audit_records, codec, facts_log, rejections, stored
from streams.worker.errors import PoisonMessage, Untrusted
from streams.worker.outbox import Record
from streams.worker.ports import DataKeys, InputRecord


class Outputs:
    """Encodes what a decision sends; makes an authority's delivery topic the first time."""

    def __init__(
        self, settings: Settings, ensure_topic: Callable[[str], Awaitable[str]], keys: DataKeys
    ) -> None:
        self.topics = Topics(settings.topic_prefix)
        self._by_resident = (self.topics.attributes, self.topics.consents)
        self._ensure_topic = ensure_topic
        self._keys = keys
        self._key = settings.pseudonym_key.get_secret_value().encode()
        self._known_topics: dict[str, str] = {}

    async def of(
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
            records.append(self.audit(signed(entry) if signed else entry, stamp))
        return records

    def audit(self, entry: AuditEntry, now: datetime | str) -> Record:
        """An audit record, not yet linked: it joins its partition's chain when it is sent."""
        key, value = audit_records.encode_audit(entry, now)
        return (self.topics.audit, key, value, None)

    async def logged(
        self,
        record: InputRecord,
        item: Input,
        before: Profile,
        outcome: Outcome,
        data_key: DataKey | None,
        now: datetime,
    ) -> Record | None:
        """The facts log record of an input that changed the resident's profile: an erasure,
        or a fact newly folded into the state, sealed under the resident's data key (``data_key``
        when the profiles are sealed, else fetched, made on the resident's first fact)."""
        if isinstance(item, Erase):
            value = facts_log.erased(record, item, now)
        elif item.id in outcome.profile.state.seen and item.id not in before.state.seen:
            key = data_key or await self._made_key(item.resident)
            value = facts_log.recorded(record, item.id, item.resident, key, now)
        else:
            return None
        return (self.topics.facts, item.resident.encode(), value, None)

    async def refused(
        self, record: InputRecord, poison: PoisonMessage, now: datetime
    ) -> Record | None:
        """The facts log record of an attribute or consent event refused for its origin or its
        publisher's role, when its key names the resident it is filed under: replay judges it
        again."""
        if not isinstance(poison, Untrusted) or record.topic not in self._by_resident:
            return None
        entry = rejections.rejection_entry(record, poison)
        if entry is None:
            return None
        key = await self._made_key(entry.resident)
        value = facts_log.recorded(record, entry.event_id, entry.resident, key, now)
        return (self.topics.facts, entry.resident.encode(), value, None)

    async def _made_key(self, resident: str) -> DataKey:
        key = await self._keys.key_for(resident, create=True)
        if key is None:  # pragma: no cover - a key is made when missing
            raise LookupError("no data key made for the resident")
        return key

    async def _delivery_topic(self, authority: str) -> str:
        topic = self._known_topics.get(authority)
        if topic is None:
            topic = await self._ensure_topic(authority)
            self._known_topics[authority] = topic
        return topic
