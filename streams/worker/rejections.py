"""Rejected inputs: the dead-letter record that carries one to the dead-letter topic, and
the audit entry that files the rejection under its resident when the record's key names one."""

from __future__ import annotations

import re

from streams.core import AuditEntry, rejection
from streams.worker.errors import PoisonMessage, Untrusted
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
