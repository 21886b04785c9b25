"""Rejected inputs: the dead-letter record that carries one to the dead-letter topic, and
the audit entry that files the rejection under its resident when the record's key names one,
or, for a refused subscription change, under the authority the change names."""

from __future__ import annotations

import re

import schemas
from streams.core import AuditEntry, SubscriptionChange, rejection, subscription_rejection
from streams.worker import codec, trust
from streams.worker.errors import PoisonMessage, RefusedChange, Untrusted
from streams.worker.outbox import Record
from streams.worker.ports import InputRecord

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def dead_letter_record(topic: str, message: InputRecord, reason: str) -> Record:
    """The input as it came, for the dead-letter ``topic``, with headers naming the reason
    and where it was read."""
    headers = [
        *(message.headers or ()),
        ("rps.dlq.reason", reason.encode()),
        ("rps.dlq.topic", str(message.topic).encode()),
        ("rps.dlq.partition", str(message.partition).encode()),
        ("rps.dlq.offset", str(message.offset).encode()),
    ]
    return (topic, message.key, message.value, headers)


def rejection_entry(message: InputRecord, poison: PoisonMessage) -> AuditEntry | None:
    """The audit entry for a rejected input, or ``None`` when its key names no resident to
    file it under (the dead letter carries it)."""
    if isinstance(poison, RefusedChange):
        return poison.entry
    resident = (message.key or b"").decode("utf-8", "replace")
    if not _UUID.match(resident):
        return None
    if isinstance(poison, Untrusted):
        return rejection(resident, poison.event_id, poison.event_type, poison.source, poison.reason)
    cause = poison.__cause__
    event_id = getattr(cause, "event_id", None) or (
        f"kafka:{message.topic}:{message.partition}:{message.offset}"
    )
    return rejection(resident, event_id, "Rejected", "", poison.reason)


def refused_change(verdict: trust.Rejected) -> AuditEntry | None:
    """The audit entry for a refused ``subscription.changed`` (the core's
    ``subscription_rejection``), or ``None`` when the refused event is of another type.

    The worker and replay both call it on the verdict of ``trust.admit_record``, so a replay
    derives the very audit record the worker wrote (same id, same content)."""
    event = verdict.event
    change = codec.to_fact(event) if isinstance(event, schemas.SubscriptionChanged) else None
    if not isinstance(change, SubscriptionChange) or event is None:
        return None
    source = schemas.authority_of_source(event.source)
    return subscription_rejection(change, source, verdict.reason)
