"""Outbound events: what the hub delivers to an authority, and the authority's acknowledgement.

Deliveries go to the authority's own topic, keyed and ``subject``-ed by the
authority's pairwise pseudonym for the resident (never the hub id), and carry
the authority's local reference back. ``delivery.applied`` is the subscriber's
acknowledgement, sent to the hub's acknowledgements topic.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from schemas._envelope import AttributeList, Envelope, LocalReference, Version
from schemas._errors import ROOT, field_errors
from schemas._rules import fail
from schemas.attributes import (
    VALUE_ADAPTERS,
    Address,
    AssuranceLevel,
    AttributeName,
    DateOfDeath,
    Email,
    FullName,
    PastDate,
    PastTimestamp,
    Phone,
    ValueModel,
)
from schemas.ids import AuthorityId, Code, EventId, Pseudonym, Source, source_of_authority


class Provenance(ValueModel):
    """Where a delivered value came from: the claim, its publisher and how it was verified."""

    claim_id: EventId
    source: Source
    assurance: AssuranceLevel
    method: Code
    verified_at: PastTimestamp


_VALUE_ORDER = (
    AttributeName.FULL_NAME,
    AttributeName.DATE_OF_BIRTH,
    AttributeName.ADDRESS,
    AttributeName.EMAIL,
    AttributeName.PHONE,
    AttributeName.DATE_OF_DEATH,
)
"""The attributes in the order of ``ProfileUpdatedData.value``'s union members."""


def _value_follows_attribute(schema: dict[str, Any]) -> None:
    """In the JSON Schema, tie ``value``'s shape to ``attribute`` (an if/then per attribute)."""
    shapes = schema["properties"]["value"]["anyOf"]
    schema["allOf"] = [
        {
            "if": {"properties": {"attribute": {"const": name.value}}},
            "then": {"properties": {"value": {"anyOf": [shape, {"type": "null"}]}}},
        }
        for name, shape in zip(_VALUE_ORDER, shapes, strict=False)
    ]


class ProfileUpdatedData(ValueModel):
    """The value that now stands for one attribute (``None``: none does any more)."""

    model_config = ConfigDict(json_schema_extra=_value_follows_attribute)

    authority: AuthorityId
    local_reference: LocalReference
    attribute: AttributeName
    value: FullName | PastDate | Address | Email | Phone | DateOfDeath | None
    provenance: Provenance | None
    decision_id: EventId
    version: Version

    @field_validator("value", mode="wrap")
    @classmethod
    def _value_of_attribute(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        attribute = info.data.get("attribute")
        if attribute is None:
            return value  # the attribute itself failed; that error is the one to report
        if value is None:
            return handler(value)
        try:
            return VALUE_ADAPTERS[attribute].validate_python(value, context=info.context)
        except ValidationError as error:
            first = field_errors(error)[0]
            field = None if first.field == ROOT else first.field
            raise fail(first.rule, first.message, field) from None

    @model_validator(mode="after")
    def _provenance_with_value(self) -> Self:
        if (self.value is None) != (self.provenance is None):
            raise fail("provenance_mismatch", "must be given exactly when value is", "provenance")
        return self


class ProfileUpdated(Envelope):
    """The hub tells an authority the value that now stands for an attribute it may see."""

    type: Literal["uk.gov.rps.profile.updated.v1"]
    source: Literal["urn:org:rps-hub"]
    subject: Pseudonym
    data: ProfileUpdatedData


class ConsentEndedData(ValueModel):
    authority: AuthorityId
    local_reference: LocalReference
    attributes: AttributeList
    reason: Literal["withdrawn", "expired", "erased"]
    decision_id: EventId
    version: Version


class ConsentEnded(Envelope):
    """Consent was withdrawn or expired, or the resident was erased: stop using these
    attributes and delete them (per your retention policy; at once when ``erased``)."""

    type: Literal["uk.gov.rps.consent.ended.v1"]
    source: Literal["urn:org:rps-hub"]
    subject: Pseudonym
    data: ConsentEndedData


class DeliveryAppliedData(ValueModel):
    authority: AuthorityId
    decision_id: EventId
    local_reference: LocalReference
    applied_at: PastTimestamp
    status: Literal["applied", "conflict"] = Field(
        default="applied",
        description="conflict: not applied, because the local reference is bound to another "
        "resident at this authority; kept aside for the authority to resolve.",
    )


class DeliveryApplied(Envelope):
    """A subscriber acknowledges that it applied a delivery; its ``source`` is its own."""

    type: Literal["uk.gov.rps.delivery.applied.v1"]
    subject: Pseudonym
    data: DeliveryAppliedData

    @model_validator(mode="after")
    def _sent_by_the_authority(self) -> Self:
        if self.source != source_of_authority(self.data.authority):
            raise fail("source_mismatch", "must be the source of data.authority", "source")
        return self
