"""Inbound events: what publishers, residents and authorities send to the hub.

``attribute.verified`` and ``attribute.retracted`` go to the attributes topic,
``consent.granted`` and ``consent.withdrawn`` to the consents topic (both keyed
by the resident's hub id), ``subscription.changed`` to the compacted
subscriptions topic (keyed by ``"<authority>|<attribute>"``, see ``producers.keys``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from schemas._envelope import AttributeList, InboundEnvelope, LocalReference
from schemas._rules import fail
from schemas.attributes import (
    Address,
    AssuranceLevel,
    AttributeName,
    DateOfDeath,
    Email,
    FullName,
    PastDate,
    PastTimestamp,
    Phone,
    Timestamp,
    ValueModel,
)
from schemas.ids import AuthorityId, Code, EventId, ResidentId

# attribute.verified ---------------------------------------------------------------------------


class Claim(ValueModel):
    """What every verified attribute carries: the attribute, its value, and how it was verified."""

    attribute: AttributeName
    value: object
    assurance: AssuranceLevel
    method: Code = Field(description="How it was verified, e.g. council_tax_record.")
    verified_at: PastTimestamp


class FullNameClaim(Claim):
    attribute: Literal[AttributeName.FULL_NAME]
    value: FullName


class DateOfBirthClaim(Claim):
    attribute: Literal[AttributeName.DATE_OF_BIRTH]
    value: PastDate


class AddressClaim(Claim):
    attribute: Literal[AttributeName.ADDRESS]
    value: Address


class EmailClaim(Claim):
    attribute: Literal[AttributeName.EMAIL]
    value: Email


class PhoneClaim(Claim):
    attribute: Literal[AttributeName.PHONE]
    value: Phone


class DateOfDeathClaim(Claim):
    attribute: Literal[AttributeName.DATE_OF_DEATH]
    value: DateOfDeath


AttributeVerifiedData = Annotated[
    FullNameClaim | DateOfBirthClaim | AddressClaim | EmailClaim | PhoneClaim | DateOfDeathClaim,
    Field(discriminator="attribute"),
]
"""One claim: the attribute, its typed value, assurance, method and ``verified_at``."""


class AttributeVerified(InboundEnvelope):
    """A publisher reports a value it has verified for a resident."""

    type: Literal["uk.gov.rps.attribute.verified.v1"]
    subject: ResidentId
    data: AttributeVerifiedData


# attribute.retracted --------------------------------------------------------------------------


class RetractionReason(StrEnum):
    """Why a publisher takes back one of its own claims."""

    REPORTED_IN_ERROR = "reported_in_error"
    MISTYPED = "mistyped"
    OTHER = "other"


class AttributeRetractedData(ValueModel):
    claim_id: EventId = Field(description="The id of the earlier attribute.verified event.")
    attribute: AttributeName
    reason: RetractionReason


class AttributeRetracted(InboundEnvelope):
    """A publisher takes back an earlier claim of its own (a death reported in error)."""

    type: Literal["uk.gov.rps.attribute.retracted.v1"]
    subject: ResidentId
    data: AttributeRetractedData


# consent --------------------------------------------------------------------------------------


class ConsentGrantedData(ValueModel):
    authority: AuthorityId
    attributes: AttributeList
    purpose: Code = Field(description="Why the authority holds them, e.g. council_tax.")
    local_reference: LocalReference
    expires_at: Timestamp | None = None


class ConsentGranted(InboundEnvelope):
    """The resident lets an authority receive some attributes; ``time`` is when it was issued."""

    type: Literal["uk.gov.rps.consent.granted.v1"]
    subject: ResidentId
    data: ConsentGrantedData

    @model_validator(mode="after")
    def _expires_after_issue(self) -> Self:
        if self.data.expires_at is not None and self.data.expires_at <= self.time:
            raise fail("expiry_not_after_issue", "must be later than time", "data.expires_at")
        return self


def _all_or_list(value: Any) -> str:
    return "all" if value == "all" else "list"


WithdrawnAttributes = Annotated[
    Annotated[AttributeList, Tag("list")] | Annotated[Literal["all"], Tag("all")],
    Discriminator(_all_or_list),
]
"""The attributes a withdrawal covers: a list of names, or ``"all"``."""


class ConsentWithdrawnData(ValueModel):
    authority: AuthorityId
    attributes: WithdrawnAttributes


class ConsentWithdrawn(InboundEnvelope):
    """The resident stops an authority receiving some (or all) attributes."""

    type: Literal["uk.gov.rps.consent.withdrawn.v1"]
    subject: ResidentId
    data: ConsentWithdrawnData


# subscription.changed -------------------------------------------------------------------------


class SubscriptionChangedData(ValueModel):
    authority: AuthorityId
    attribute: AttributeName
    minimum_assurance: AssuranceLevel
    active: bool = Field(strict=True)


class SubscriptionChanged(InboundEnvelope):
    """An authority starts or stops subscribing to an attribute at a minimum assurance."""

    type: Literal["uk.gov.rps.subscription.changed.v1"]
    subject: AuthorityId
    data: SubscriptionChangedData

    @model_validator(mode="after")
    def _keyed_by_authority(self) -> Self:
        if self.subject != self.data.authority:
            raise fail("subject_mismatch", "must equal data.authority", "subject")
        return self
