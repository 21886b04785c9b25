"""Hypothesis strategies for valid events of every type, shared by every package's tests.

Each event strategy takes optional keyword arguments that pin the resident,
authority, source or attribute, so a test can build a scenario (many claims
about one resident, consents for one authority...). Every instant drawn lies
between 2000 and the end of 2024, so none is "in the future". Importing this
module imports hypothesis; importing ``schemas`` does not.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeVar

from hypothesis import strategies as st

from schemas._value_strategies import (
    EARLIEST,
    KNOWN_AUTHORITIES,
    KNOWN_PUBLISHERS,
    LATEST,
    addresses,
    assurance_levels,
    attribute_names,
    attribute_values,
    authorities,
    codes,
    dates_of_birth,
    deaths,
    emails,
    event_ids,
    full_names,
    gss_codes,
    local_references,
    org_ids,
    phones,
    postcodes,
    pseudonyms,
    residents,
    sources,
    times,
)
from schemas.attributes import AssuranceLevel, AttributeName
from schemas.audit import AuditChain, AuditDecision, AuditRecorded, AuditRecordedData
from schemas.events import Event
from schemas.ids import HUB_SOURCE, source_of_authority
from schemas.inbound import (
    AttributeRetracted,
    AttributeRetractedData,
    AttributeVerified,
    ConsentGranted,
    ConsentGrantedData,
    ConsentWithdrawn,
    ConsentWithdrawnData,
    RetractionReason,
    SubscriptionChanged,
    SubscriptionChangedData,
)
from schemas.outbound import (
    ConsentEnded,
    ConsentEndedData,
    DeliveryApplied,
    DeliveryAppliedData,
    ProfileUpdated,
    ProfileUpdatedData,
    Provenance,
)

__all__ = [
    "EARLIEST",
    "KNOWN_AUTHORITIES",
    "KNOWN_PUBLISHERS",
    "LATEST",
    "addresses",
    "assurance_levels",
    "attribute_names",
    "attribute_retracted",
    "attribute_values",
    "attribute_verified",
    "audit_recorded",
    "authorities",
    "codes",
    "consent_ended",
    "consent_granted",
    "consent_withdrawn",
    "dates_of_birth",
    "deaths",
    "delivery_applied",
    "emails",
    "event_ids",
    "events",
    "full_names",
    "gss_codes",
    "inbound_events",
    "local_references",
    "org_ids",
    "phones",
    "postcodes",
    "profile_updated",
    "provenances",
    "pseudonyms",
    "residents",
    "sources",
    "subscription_changed",
    "times",
]


T = TypeVar("T")
_ENDINGS: tuple[Literal["withdrawn", "expired"], ...] = ("withdrawn", "expired")


def _pinned(value: T | None, otherwise: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    return st.just(value) if value is not None else otherwise


def _id(draw: st.DrawFn, event_id: str | None = None) -> str:
    return event_id if event_id is not None else draw(event_ids())


def _time(draw: st.DrawFn, time: dt.datetime | None = None) -> dt.datetime:
    return time if time is not None else draw(times())


@st.composite
def attribute_verified(
    draw: st.DrawFn,
    *,
    resident: str | None = None,
    source: str | None = None,
    attribute: AttributeName | None = None,
    assurance: AssuranceLevel | None = None,
    event_id: str | None = None,
    verified_at: dt.datetime | None = None,
) -> AttributeVerified:
    """A verified claim; pin ``resident``, ``source``, ``attribute``, ``assurance`` as needed."""
    name = draw(_pinned(attribute, attribute_names()))
    claim = {
        "attribute": name,
        "value": draw(attribute_values(name)),
        "assurance": draw(_pinned(assurance, assurance_levels())),
        "method": draw(codes()),
        "verified_at": draw(_pinned(verified_at, times())),
    }
    return AttributeVerified.model_validate(
        {
            "specversion": "1.0",
            "id": _id(draw, event_id),
            "time": _time(draw),
            "type": "uk.gov.rps.attribute.verified.v1",
            "source": draw(_pinned(source, sources())),
            "subject": draw(_pinned(resident, residents())),
            "data": claim,
        }
    )


@st.composite
def attribute_retracted(
    draw: st.DrawFn,
    *,
    resident: str | None = None,
    source: str | None = None,
    claim_id: str | None = None,
    attribute: AttributeName | None = None,
) -> AttributeRetracted:
    """A retraction of a claim (pin ``claim_id``, ``source`` and ``attribute`` to match one)."""
    return AttributeRetracted(
        specversion="1.0",
        id=_id(draw),
        time=_time(draw),
        type="uk.gov.rps.attribute.retracted.v1",
        source=draw(_pinned(source, sources())),
        subject=draw(_pinned(resident, residents())),
        data=AttributeRetractedData(
            claim_id=draw(_pinned(claim_id, event_ids())),
            attribute=draw(_pinned(attribute, attribute_names())),
            reason=draw(st.sampled_from(RetractionReason)),
        ),
    )


@st.composite
def consent_granted(
    draw: st.DrawFn,
    *,
    resident: str | None = None,
    authority: str | None = None,
    attributes: list[AttributeName] | None = None,
    issued_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    expiring: bool | None = None,
) -> ConsentGranted:
    """A consent; ``expiring=False`` never expires, ``True`` always has an ``expires_at``."""
    issued = draw(_pinned(issued_at, times()))
    if expires_at is None and expiring is not False:
        later = times(
            min_value=issued + dt.timedelta(seconds=1), max_value=issued + dt.timedelta(days=3650)
        )
        expires_at = draw(later if expiring else st.one_of(st.none(), later))
    return ConsentGranted(
        specversion="1.0",
        id=_id(draw),
        time=issued,
        type="uk.gov.rps.consent.granted.v1",
        source=draw(st.sampled_from(("urn:org:rps-resident-app", *KNOWN_PUBLISHERS))),
        subject=draw(_pinned(resident, residents())),
        data=ConsentGrantedData(
            authority=draw(_pinned(authority, authorities())),
            attributes=attributes or draw(st.lists(attribute_names(), min_size=1, unique=True)),
            purpose=draw(codes()),
            local_reference=draw(local_references()),
            expires_at=expires_at,
        ),
    )


@st.composite
def consent_withdrawn(
    draw: st.DrawFn,
    *,
    resident: str | None = None,
    authority: str | None = None,
    attributes: list[AttributeName] | None = None,
    issued_at: dt.datetime | None = None,
) -> ConsentWithdrawn:
    """A withdrawal of some attributes, or of ``"all"``."""
    every: st.SearchStrategy[list[AttributeName] | Literal["all"]] = st.just("all")
    covered = attributes or draw(
        st.one_of(every, st.lists(attribute_names(), min_size=1, unique=True))
    )
    return ConsentWithdrawn(
        specversion="1.0",
        id=_id(draw),
        time=_time(draw, issued_at),
        type="uk.gov.rps.consent.withdrawn.v1",
        source="urn:org:rps-resident-app",
        subject=draw(_pinned(resident, residents())),
        data=ConsentWithdrawnData(
            authority=draw(_pinned(authority, authorities())), attributes=covered
        ),
    )


@st.composite
def subscription_changed(
    draw: st.DrawFn,
    *,
    authority: str | None = None,
    attribute: AttributeName | None = None,
    minimum_assurance: AssuranceLevel | None = None,
    active: bool | None = None,
) -> SubscriptionChanged:
    """An authority's subscription to one attribute, keyed by the authority."""
    who = draw(_pinned(authority, authorities()))
    return SubscriptionChanged(
        specversion="1.0",
        id=_id(draw),
        time=_time(draw),
        type="uk.gov.rps.subscription.changed.v1",
        source=source_of_authority(who),
        subject=who,
        data=SubscriptionChangedData(
            authority=who,
            attribute=draw(_pinned(attribute, attribute_names())),
            minimum_assurance=draw(_pinned(minimum_assurance, assurance_levels())),
            active=draw(_pinned(active, st.booleans())),
        ),
    )


def provenances() -> st.SearchStrategy[Provenance]:
    return st.builds(
        Provenance,
        claim_id=event_ids(),
        source=sources(),
        assurance=assurance_levels(),
        method=codes(),
        verified_at=times(),
    )


@st.composite
def profile_updated(
    draw: st.DrawFn, *, authority: str | None = None, attribute: AttributeName | None = None
) -> ProfileUpdated:
    """A delivery of the value that now stands (or of none)."""
    name = draw(_pinned(attribute, attribute_names()))
    value = draw(st.one_of(st.none(), attribute_values(name)))
    decision = draw(event_ids())
    return ProfileUpdated(
        specversion="1.0",
        id=decision,
        time=_time(draw),
        type="uk.gov.rps.profile.updated.v1",
        source=HUB_SOURCE,
        subject=draw(pseudonyms()),
        data=ProfileUpdatedData(
            authority=draw(_pinned(authority, authorities())),
            local_reference=draw(local_references()),
            attribute=name,
            value=value,
            provenance=None if value is None else draw(provenances()),
            decision_id=decision,
            version=draw(st.integers(1, 10_000)),
        ),
    )


@st.composite
def consent_ended(draw: st.DrawFn, *, authority: str | None = None) -> ConsentEnded:
    """A notice that consent was withdrawn or expired."""
    decision = draw(event_ids())
    return ConsentEnded(
        specversion="1.0",
        id=decision,
        time=_time(draw),
        type="uk.gov.rps.consent.ended.v1",
        source=HUB_SOURCE,
        subject=draw(pseudonyms()),
        data=ConsentEndedData(
            authority=draw(_pinned(authority, authorities())),
            local_reference=draw(local_references()),
            attributes=draw(st.lists(attribute_names(), min_size=1, unique=True)),
            reason=draw(st.sampled_from(_ENDINGS)),
            decision_id=decision,
            version=draw(st.integers(1, 10_000)),
        ),
    )


@st.composite
def delivery_applied(draw: st.DrawFn, *, authority: str | None = None) -> DeliveryApplied:
    """A subscriber's acknowledgement, sent as the authority's own source."""
    who = draw(_pinned(authority, authorities()))
    return DeliveryApplied(
        specversion="1.0",
        id=_id(draw),
        time=_time(draw),
        type="uk.gov.rps.delivery.applied.v1",
        source=source_of_authority(who),
        subject=draw(pseudonyms()),
        data=DeliveryAppliedData(
            authority=who,
            decision_id=draw(event_ids()),
            local_reference=draw(local_references()),
            applied_at=draw(times()),
        ),
    )


@st.composite
def audit_recorded(draw: st.DrawFn, *, resident: str | None = None) -> AuditRecorded:
    """An audit record of one decision (ids, levels and reasons only)."""
    optional = st.one_of
    token = st.from_regex(r"[A-Za-z0-9+/=_.:-]{1,80}", fullmatch=True)
    return AuditRecorded(
        specversion="1.0",
        id=_id(draw),
        time=_time(draw),
        type="uk.gov.rps.audit.recorded.v1",
        source=HUB_SOURCE,
        subject=draw(_pinned(resident, residents())),
        data=AuditRecordedData(
            decision=draw(st.sampled_from(AuditDecision)),
            reason=draw(optional(st.none(), codes())),
            event_id=draw(event_ids()),
            event_type=draw(st.sampled_from(("uk.gov.rps.attribute.verified.v1", "x.unknown.v9"))),
            event_source=draw(sources()),
            attribute=draw(optional(st.none(), attribute_names())),
            authority=draw(optional(st.none(), authorities())),
            claim_id=draw(optional(st.none(), event_ids())),
            assurance=draw(optional(st.none(), assurance_levels())),
            decision_id=draw(optional(st.none(), event_ids())),
            version=draw(optional(st.none(), st.integers(1, 10_000))),
            chain=draw(
                optional(
                    st.none(),
                    st.builds(
                        AuditChain, previous_hash=token, hash=token, signature=token, key_id=token
                    ),
                )
            ),
        ),
    )


def inbound_events() -> st.SearchStrategy[Event]:
    """Any of the five inbound types."""
    return st.one_of(
        attribute_verified(),
        attribute_retracted(),
        consent_granted(),
        consent_withdrawn(),
        subscription_changed(),
    )


def events() -> st.SearchStrategy[Event]:
    """Any event of any of the nine types."""
    return st.one_of(
        inbound_events(),
        profile_updated(),
        consent_ended(),
        delivery_applied(),
        audit_recorded(),
    )
