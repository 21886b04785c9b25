"""Delivery events built the way the worker builds them, for the subscriber's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.structs import ConsumerRecord

from schemas import CONSENT_ENDED, HUB_SOURCE, PROFILE_UPDATED, ConsentEnded, ProfileUpdated, encode

AUTHORITY = "E08000012"
SUBJECT = "9d2f6b1a-3e4c-5a7b-8c9d-0e1f2a3b4c5d"
REFERENCE = "LCC-CT-10045821"
VERIFIED = datetime(2025, 3, 3, 10, 14, 12, tzinfo=UTC)


def address(line: str) -> dict[str, Any]:
    """A valid address value whose first line is ``line``."""
    return {
        "uprn": "41200098765",
        "lines": [line, "17 Hamilton Square"],
        "town": "Birkenhead",
        "postcode": "CH41 6AU",
        "local_authority": "E08000015",
    }


def profile_updated(
    version: int,
    value: Any,
    *,
    attribute: str = "address",
    reference: str = REFERENCE,
    authority: str = AUTHORITY,
    subject: str = SUBJECT,
    decision_id: str | None = None,
) -> bytes:
    """A ``profile.updated`` delivery; ``value`` None says no value stands any more."""
    decision = decision_id or f"dec-{reference}-{attribute}-{version}"
    provenance = (
        None
        if value is None
        else {
            "claim_id": f"claim-{version}",
            "source": "urn:gss:E08000015",
            "assurance": "medium",
            "method": "council_tax_record",
            "verified_at": VERIFIED,
        }
    )
    event = ProfileUpdated.model_validate(
        {
            "specversion": "1.0",
            "id": decision,
            "source": HUB_SOURCE,
            "type": PROFILE_UPDATED,
            "subject": subject,
            "time": VERIFIED + timedelta(minutes=version),
            "data": {
                "authority": authority,
                "local_reference": reference,
                "attribute": attribute,
                "value": value,
                "provenance": provenance,
                "decision_id": decision,
                "version": version,
            },
        }
    )
    return encode(event)


def consent_ended(
    version: int,
    attributes: list[str],
    *,
    reference: str = REFERENCE,
    authority: str = AUTHORITY,
    subject: str = SUBJECT,
) -> bytes:
    """A ``consent.ended`` delivery (withdrawn) for ``attributes``."""
    decision = f"dec-{reference}-consent-{version}"
    event = ConsentEnded.model_validate(
        {
            "specversion": "1.0",
            "id": decision,
            "source": HUB_SOURCE,
            "type": CONSENT_ENDED,
            "subject": subject,
            "time": VERIFIED + timedelta(minutes=version),
            "data": {
                "authority": authority,
                "local_reference": reference,
                "attributes": attributes,
                "reason": "withdrawn",
                "decision_id": decision,
                "version": version,
            },
        }
    )
    return encode(event)


def record(
    value: bytes | None, *, topic: str = "rps.deliveries.E08000012.v1", offset: int = 0
) -> Any:
    """A consumer record as aiokafka hands it over."""
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=SUBJECT.encode(),
        value=value,
        checksum=None,
        serialized_key_size=36,
        serialized_value_size=len(value or b""),
        headers=[],
    )
