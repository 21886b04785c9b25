"""Audit records: one per decision the hub takes, on the audit topic, keyed by resident.

An audit record names ids, types, sources, authorities, levels and reasons,
never an attribute value. ``chain`` is reserved for the tamper-evident chain
(each record hashes its predecessor and is signed).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import Field

from schemas._envelope import AuditSubject, Envelope, KeyIdText, Version
from schemas.attributes import AssuranceLevel, AttributeName, ValueModel
from schemas.ids import AuthorityId, Code, EventId, Source

_TOKEN_PATTERN: Final = r"^[A-Za-z0-9+/=_.:-]{1,512}$"
Token = Annotated[str, Field(pattern=_TOKEN_PATTERN)]
"""A hash, signature or key id: 1-512 characters of base64, hex or id characters."""


class AuditDecision(StrEnum):
    """What the hub decided about one input event."""

    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    RETRACTED = "retracted"
    DELIVERED = "delivered"
    WITHHELD = "withheld"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_ENDED = "consent_ended"
    ERASED = "erased"


class AuditChain(ValueModel):
    """The link that makes the audit trail tamper-evident."""

    previous_hash: Token
    hash: Token
    signature: Token
    key_id: Token


class AuditRecordedData(ValueModel):
    decision: AuditDecision
    reason: Code | None = Field(
        default=None, description="A machine code such as no_consent or below_minimum_assurance."
    )
    event_id: EventId = Field(description="The input event that caused this decision.")
    event_type: Annotated[str, Field(min_length=1, max_length=256)]
    event_source: Annotated[str, Field(min_length=1, max_length=256)]
    attribute: AttributeName | None = None
    authority: AuthorityId | None = None
    claim_id: EventId | None = None
    assurance: AssuranceLevel | None = None
    decision_id: EventId | None = None
    version: Version | None = None
    signed_with: KeyIdText | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The registered key that proved the input's origin (its rpskeyid).",
    )
    vouched_by: Source | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The gateway that vouched for the input's publisher (its rpsvoucher).",
    )
    chain: AuditChain | None = None  # last, so the chain can be linked in place (audit_chain)


class AuditRecorded(Envelope):
    """The hub records one decision: accepted, delivered, withheld (and why), and so on."""

    type: Literal["uk.gov.rps.audit.recorded.v1"]
    source: Literal["urn:org:rps-hub"]
    subject: AuditSubject
    data: AuditRecordedData
