"""Audit entries as ``audit.recorded`` records: their stable ids, their data, and the
unlinked record's bytes (orjson, in the model's field order) or its event (through the
model), and the entries about a signed input naming its signer. The audit link is spliced
in later by ``audit_chain``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

import schemas
from schemas.registry import Signer
from streams.core import LEVELS, AuditEntry
from streams.worker.codec import KIND_TYPES, instant, validated


def audit_id(entry: AuditEntry) -> str:
    """A stable id for an audit entry, so a reprocessed input yields the same record ids."""
    parts = (
        entry.event_id,
        entry.decision,
        entry.authority,
        entry.attribute,
        entry.claim_id,
        entry.decision_id,
    )
    return "a-" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def audit_data(entry: AuditEntry) -> dict[str, Any]:
    """The data of an ``audit.recorded`` event for one entry (ids, names, levels: no values)."""
    source = entry.event_source
    data: dict[str, Any] = {
        "decision": str(entry.decision),
        "reason": entry.reason,
        "event_id": entry.event_id,
        "event_type": KIND_TYPES.get(entry.event_kind, entry.event_kind),
        "event_source": schemas.source_of_authority(source) if source else schemas.HUB_SOURCE,
        "attribute": entry.attribute,
        "authority": entry.authority,
        "claim_id": entry.claim_id,
        "assurance": LEVELS[entry.level] if entry.level is not None else None,
        "decision_id": entry.decision_id,
        "version": entry.version,
    }
    if entry.signed_with is not None:  # left out when unset, as the contract writes it
        data["signed_with"] = entry.signed_with
    if entry.vouched_by is not None:
        data["vouched_by"] = entry.vouched_by
    return data


def encode_audit(entry: AuditEntry, now: datetime | str) -> tuple[bytes, bytes]:
    """The (key, value) of an ``audit.recorded`` record, keyed by resident, not yet linked.

    Written with orjson, not through the model: an audit entry holds only ids, names, levels
    and reason codes the core chose, so its record is valid by construction, and a property
    test proves these bytes equal what the model writes (:func:`audit_event`) for every
    entry the core decides. Validating and dumping through pydantic here cost about a third
    of the worker's per-event work. ``now`` may be given already formatted
    (:func:`instant`), once for all the records of one decision.
    """
    stamp = now if isinstance(now, str) else instant(now)
    return entry.resident.encode(), orjson.dumps(_audit_document(entry, stamp))


def audit_event(entry: AuditEntry, now: datetime) -> schemas.AuditRecorded:
    """The ``audit.recorded`` event for one entry, through the model (the contract itself)."""
    return validated(schemas.AuditRecorded, _audit_document(entry, now))


def _audit_document(entry: AuditEntry, now: datetime | str) -> dict[str, Any]:
    """An unlinked audit record as a document in ``schemas.AuditRecorded``'s field order."""
    return {
        "specversion": "1.0",
        "id": audit_id(entry),
        "source": schemas.HUB_SOURCE,
        "type": schemas.AUDIT_RECORDED,
        "subject": entry.resident,
        "time": now,
        "datacontenttype": "application/json",
        "data": {**audit_data(entry), "chain": None},
    }


def signed(input_id: str, signer: Signer | None) -> Callable[[AuditEntry], AuditEntry]:
    """Name the input's proven signer (and voucher) in the audit entries about the input."""
    if signer is None:
        return lambda entry: entry

    def sign(entry: AuditEntry) -> AuditEntry:
        if entry.event_id != input_id:
            return entry
        return replace(entry, signed_with=signer.key_id, vouched_by=signer.voucher)

    return sign
