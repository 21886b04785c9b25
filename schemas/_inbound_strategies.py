"""Hypothesis strategies for the five inbound event types (see ``schemas.strategies``).

Each takes optional keyword arguments that pin the resident, authority, source
or attribute, so a test can build a scenario.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from hypothesis import strategies as st

from schemas._value_strategies import (
    KNOWN_PUBLISHERS,
    assurance_levels,
    attribute_names,
    attribute_values,
    authorities,
    codes,
    drawn_id,
    drawn_time,
    event_ids,
    local_references,
    pinned,
    residents,
    sources,
    times,
)
from schemas.attributes import AssuranceLevel, AttributeName
from schemas.events import Event
from schemas.ids import source_of_authority
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
    name = draw(pinned(attribute, attribute_names()))
    claim = {
        "attribute": name,
        "value": draw(attribute_values(name)),
        "assurance": draw(pinned(assurance, assurance_levels())),
        "method": draw(codes()),
        "verified_at": draw(pinned(verified_at, times())),
    }
    return AttributeVerified.model_validate(
        {
            "specversion": "1.0",
            "id": drawn_id(draw, event_id),
            "time": drawn_time(draw),
            "type": "uk.gov.rps.attribute.verified.v1",
            "source": draw(pinned(source, sources())),
            "subject": draw(pinned(resident, residents())),
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
        id=drawn_id(draw),
        time=drawn_time(draw),
        type="uk.gov.rps.attribute.retracted.v1",
        source=draw(pinned(source, sources())),
        subject=draw(pinned(resident, residents())),
        data=AttributeRetractedData(
            claim_id=draw(pinned(claim_id, event_ids())),
            attribute=draw(pinned(attribute, attribute_names())),
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
    issued = draw(pinned(issued_at, times()))
    if expires_at is None and expiring is not False:
        later = times(
            min_value=issued + dt.timedelta(seconds=1), max_value=issued + dt.timedelta(days=3650)
        )
        expires_at = draw(later if expiring else st.one_of(st.none(), later))
    return ConsentGranted(
        specversion="1.0",
        id=drawn_id(draw),
        time=issued,
        type="uk.gov.rps.consent.granted.v1",
        source=draw(st.sampled_from(("urn:org:rps-resident-app", *KNOWN_PUBLISHERS))),
        subject=draw(pinned(resident, residents())),
        data=ConsentGrantedData(
            authority=draw(pinned(authority, authorities())),
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
        id=drawn_id(draw),
        time=drawn_time(draw, issued_at),
        type="uk.gov.rps.consent.withdrawn.v1",
        source="urn:org:rps-resident-app",
        subject=draw(pinned(resident, residents())),
        data=ConsentWithdrawnData(
            authority=draw(pinned(authority, authorities())), attributes=covered
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
    who = draw(pinned(authority, authorities()))
    return SubscriptionChanged(
        specversion="1.0",
        id=drawn_id(draw),
        time=drawn_time(draw),
        type="uk.gov.rps.subscription.changed.v1",
        source=source_of_authority(who),
        subject=who,
        data=SubscriptionChangedData(
            authority=who,
            attribute=draw(pinned(attribute, attribute_names())),
            minimum_assurance=draw(pinned(minimum_assurance, assurance_levels())),
            active=draw(pinned(active, st.booleans())),
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
