"""The unions of event models: ``Event`` (all nine, on ``type``) and ``InboundEvent``."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, TypeAdapter

from schemas.audit import AuditRecorded
from schemas.inbound import (
    AttributeRetracted,
    AttributeVerified,
    ConsentGranted,
    ConsentWithdrawn,
    SubscriptionChanged,
)
from schemas.outbound import ConsentEnded, DeliveryApplied, ProfileUpdated
from schemas.types import (
    ATTRIBUTE_RETRACTED,
    ATTRIBUTE_VERIFIED,
    AUDIT_RECORDED,
    CONSENT_ENDED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    DELIVERY_APPLIED,
    PROFILE_UPDATED,
    SUBSCRIPTION_CHANGED,
)

Event = Annotated[
    AttributeVerified
    | AttributeRetracted
    | ConsentGranted
    | ConsentWithdrawn
    | SubscriptionChanged
    | ProfileUpdated
    | ConsentEnded
    | DeliveryApplied
    | AuditRecorded,
    Field(discriminator="type"),
]
"""Any event the product speaks."""

InboundEvent = Annotated[
    AttributeVerified
    | AttributeRetracted
    | ConsentGranted
    | ConsentWithdrawn
    | SubscriptionChanged,
    Field(discriminator="type"),
]
"""The five inbound types the worker reads (attributes, consents and subscriptions topics)."""

EventModel = (
    type[AttributeVerified]
    | type[AttributeRetracted]
    | type[ConsentGranted]
    | type[ConsentWithdrawn]
    | type[SubscriptionChanged]
    | type[ProfileUpdated]
    | type[ConsentEnded]
    | type[DeliveryApplied]
    | type[AuditRecorded]
)

MODELS: Final[dict[str, EventModel]] = {
    ATTRIBUTE_VERIFIED: AttributeVerified,
    ATTRIBUTE_RETRACTED: AttributeRetracted,
    CONSENT_GRANTED: ConsentGranted,
    CONSENT_WITHDRAWN: ConsentWithdrawn,
    SUBSCRIPTION_CHANGED: SubscriptionChanged,
    PROFILE_UPDATED: ProfileUpdated,
    CONSENT_ENDED: ConsentEnded,
    DELIVERY_APPLIED: DeliveryApplied,
    AUDIT_RECORDED: AuditRecorded,
}
"""The model of each event type."""

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)
INBOUND_ADAPTER: Final[TypeAdapter[InboundEvent]] = TypeAdapter(InboundEvent)
