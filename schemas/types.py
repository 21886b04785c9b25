"""Every event type the product speaks, with its major version, spelled once."""

from __future__ import annotations

from typing import Final

ATTRIBUTE_VERIFIED: Final = "uk.gov.rps.attribute.verified.v1"
ATTRIBUTE_RETRACTED: Final = "uk.gov.rps.attribute.retracted.v1"
CONSENT_GRANTED: Final = "uk.gov.rps.consent.granted.v1"
CONSENT_WITHDRAWN: Final = "uk.gov.rps.consent.withdrawn.v1"
SUBSCRIPTION_CHANGED: Final = "uk.gov.rps.subscription.changed.v1"
PROFILE_UPDATED: Final = "uk.gov.rps.profile.updated.v1"
CONSENT_ENDED: Final = "uk.gov.rps.consent.ended.v1"
DELIVERY_APPLIED: Final = "uk.gov.rps.delivery.applied.v1"
AUDIT_RECORDED: Final = "uk.gov.rps.audit.recorded.v1"

EVENT_TYPES: Final = (
    ATTRIBUTE_VERIFIED,
    ATTRIBUTE_RETRACTED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    SUBSCRIPTION_CHANGED,
    PROFILE_UPDATED,
    CONSENT_ENDED,
    DELIVERY_APPLIED,
    AUDIT_RECORDED,
)
"""All nine, inbound first."""


def short_name(event_type: str) -> str:
    """The type without its namespace: ``attribute.verified.v1``."""
    return event_type.removeprefix("uk.gov.rps.")
