"""Hypothesis strategies for the outbound and audit event types (see ``schemas.strategies``).

Each takes optional keyword arguments that pin the resident or authority.
"""

from __future__ import annotations

from typing import Literal

from hypothesis import strategies as st

from schemas._value_strategies import (
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
    pseudonyms,
    residents,
    sources,
    times,
)
from schemas.attributes import AttributeName
from schemas.audit import AuditChain, AuditDecision, AuditRecorded, AuditRecordedData
from schemas.ids import HUB_SOURCE, source_of_authority
from schemas.outbound import (
    ConsentEnded,
    ConsentEndedData,
    DeliveryApplied,
    DeliveryAppliedData,
    ProfileUpdated,
    ProfileUpdatedData,
    Provenance,
)

_ENDINGS: tuple[Literal["withdrawn", "expired", "erased"], ...] = ("withdrawn", "expired", "erased")


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
    name = draw(pinned(attribute, attribute_names()))
    value = draw(st.one_of(st.none(), attribute_values(name)))
    decision = draw(event_ids())
    return ProfileUpdated(
        specversion="1.0",
        id=decision,
        time=drawn_time(draw),
        type="uk.gov.rps.profile.updated.v1",
        source=HUB_SOURCE,
        subject=draw(pseudonyms()),
        data=ProfileUpdatedData(
            authority=draw(pinned(authority, authorities())),
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
        time=drawn_time(draw),
        type="uk.gov.rps.consent.ended.v1",
        source=HUB_SOURCE,
        subject=draw(pseudonyms()),
        data=ConsentEndedData(
            authority=draw(pinned(authority, authorities())),
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
    who = draw(pinned(authority, authorities()))
    return DeliveryApplied(
        specversion="1.0",
        id=drawn_id(draw),
        time=drawn_time(draw),
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
        id=drawn_id(draw),
        time=drawn_time(draw),
        type="uk.gov.rps.audit.recorded.v1",
        source=HUB_SOURCE,
        subject=draw(pinned(resident, residents())),
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
