"""Hypothesis strategies for valid events at the edges of what the contracts allow.

Every event drawn passes validation, yet its values sit at the bounds more
often than not: the first and last instants of the 1900-2200 window with
offsets up to 14 hours either way, dates from 1900-01-01, versions up to
2^63-1, ids, codes and references at their longest, names and address lines of
any printable Unicode at their longest. Consumers' tests drive these through
every apply path. This module builds the events of all nine types; the values
they carry are drawn by ``schemas._extreme_value_strategies``. Importing it
imports hypothesis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from schemas._extreme_value_strategies import (
    LATEST_PAST,
    attribute_lists,
    authorities,
    codes,
    extreme_instants,
    extreme_versions,
    ids,
    local_references,
    longest_or,
    residents,
    sources,
    stamp,
    text,
    values,
)
from schemas._rules import LATEST_INSTANT
from schemas.attributes import AssuranceLevel, AttributeName
from schemas.audit import AuditDecision
from schemas.events import Event
from schemas.ids import HUB_SOURCE, source_of_authority
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
from schemas.validation import parse

__all__ = [
    "LATEST_PAST",
    "extreme_deliveries",
    "extreme_events",
    "extreme_inbound_events",
    "extreme_instants",
    "extreme_versions",
]


def _envelope(draw: st.DrawFn, event_type: str, source: str, subject: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": draw(ids()),
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": stamp(draw(extreme_instants())),
    }


def _provenance(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "claim_id": draw(ids()),
        "source": draw(sources()),
        "assurance": draw(st.sampled_from(AssuranceLevel)).value,
        "method": draw(codes()),
        "verified_at": stamp(draw(extreme_instants())),
    }


@st.composite
def _verified(draw: st.DrawFn) -> dict[str, Any]:
    attribute = draw(st.sampled_from(AttributeName))
    document = _envelope(draw, ATTRIBUTE_VERIFIED, draw(sources()), draw(residents()))
    document["data"] = {
        "attribute": attribute.value,
        "value": draw(values(attribute)),
        "assurance": draw(st.sampled_from(AssuranceLevel)).value,
        "method": draw(codes()),
        "verified_at": stamp(draw(extreme_instants())),
    }
    return document


@st.composite
def _retracted(draw: st.DrawFn) -> dict[str, Any]:
    document = _envelope(draw, ATTRIBUTE_RETRACTED, draw(sources()), draw(residents()))
    document["data"] = {
        "claim_id": draw(ids()),
        "attribute": draw(st.sampled_from(AttributeName)).value,
        "reason": draw(st.sampled_from(("reported_in_error", "mistyped", "other"))),
    }
    return document


@st.composite
def _granted(draw: st.DrawFn) -> dict[str, Any]:
    document = _envelope(draw, CONSENT_GRANTED, "urn:org:rps-resident-app", draw(residents()))
    issued = dt.datetime.fromisoformat(document["time"])
    after = issued.astimezone(dt.UTC) + dt.timedelta(microseconds=1)
    expires = draw(st.one_of(st.none(), extreme_instants(after, LATEST_INSTANT)))
    document["data"] = {
        "authority": draw(authorities()),
        "attributes": draw(attribute_lists()),
        "purpose": draw(codes()),
        "local_reference": draw(local_references()),
        "expires_at": None if expires is None else stamp(expires),
    }
    return document


@st.composite
def _withdrawn(draw: st.DrawFn) -> dict[str, Any]:
    document = _envelope(draw, CONSENT_WITHDRAWN, "urn:org:rps-resident-app", draw(residents()))
    document["data"] = {
        "authority": draw(authorities()),
        "attributes": draw(st.one_of(st.just("all"), attribute_lists())),
    }
    return document


@st.composite
def _subscription(draw: st.DrawFn) -> dict[str, Any]:
    authority = draw(authorities())
    document = _envelope(draw, SUBSCRIPTION_CHANGED, source_of_authority(authority), authority)
    document["data"] = {
        "authority": authority,
        "attribute": draw(st.sampled_from(AttributeName)).value,
        "minimum_assurance": draw(st.sampled_from(AssuranceLevel)).value,
        "active": draw(st.booleans()),
    }
    return document


@st.composite
def _updated(
    draw: st.DrawFn,
    authority: str | None = None,
    references: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    attribute = draw(st.sampled_from(AttributeName))
    document = _envelope(draw, PROFILE_UPDATED, HUB_SOURCE, draw(residents()))
    value = draw(st.one_of(st.none(), values(attribute)))
    document["data"] = {
        "authority": authority or draw(authorities()),
        "local_reference": draw(local_references() if references is None else references),
        "attribute": attribute.value,
        "value": value,
        "provenance": None if value is None else _provenance(draw),
        "decision_id": document["id"],
        "version": draw(extreme_versions()),
    }
    return document


@st.composite
def _ended(
    draw: st.DrawFn,
    authority: str | None = None,
    references: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    document = _envelope(draw, CONSENT_ENDED, HUB_SOURCE, draw(residents()))
    document["data"] = {
        "authority": authority or draw(authorities()),
        "local_reference": draw(local_references() if references is None else references),
        "attributes": draw(attribute_lists()),
        "reason": draw(st.sampled_from(("withdrawn", "expired"))),
        "decision_id": document["id"],
        "version": draw(extreme_versions()),
    }
    return document


@st.composite
def _applied(draw: st.DrawFn) -> dict[str, Any]:
    authority = draw(authorities())
    document = _envelope(draw, DELIVERY_APPLIED, source_of_authority(authority), draw(residents()))
    document["data"] = {
        "authority": authority,
        "decision_id": draw(ids()),
        "local_reference": draw(local_references()),
        "applied_at": stamp(draw(extreme_instants())),
    }
    return document


@st.composite
def _audited(draw: st.DrawFn) -> dict[str, Any]:
    optional = st.one_of
    token = longest_or("T" * 512, st.from_regex(r"[A-Za-z0-9+/=_.:-]{1,512}", fullmatch=True))
    document = _envelope(draw, AUDIT_RECORDED, HUB_SOURCE, draw(residents()))
    chain = draw(
        optional(
            st.none(),
            st.fixed_dictionaries(
                {"previous_hash": token, "hash": token, "signature": token, "key_id": token}
            ),
        )
    )
    document["data"] = {
        "decision": draw(st.sampled_from(AuditDecision)).value,
        "reason": draw(optional(st.none(), codes())),
        "event_id": draw(ids()),
        "event_type": draw(text(256)),
        "event_source": draw(text(256)),
        "attribute": draw(optional(st.none(), st.sampled_from(AttributeName).map(str))),
        "authority": draw(optional(st.none(), authorities())),
        "claim_id": draw(optional(st.none(), ids())),
        "assurance": draw(optional(st.none(), st.sampled_from(AssuranceLevel).map(str))),
        "decision_id": draw(optional(st.none(), ids())),
        "version": draw(optional(st.none(), extreme_versions())),
        "chain": chain,
    }
    return document


def _event(documents: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Event]:
    return documents.map(parse)


def extreme_inbound_events() -> st.SearchStrategy[Event]:
    """Any of the five inbound types, at the edges."""
    return _event(st.one_of(_verified(), _retracted(), _granted(), _withdrawn(), _subscription()))


def extreme_deliveries(
    authority: str, references: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Event]:
    """``profile.updated`` and ``consent.ended`` for ``authority``, at the edges; pin
    ``references`` to a few so that deliveries meet on the same keys."""
    return _event(st.one_of(_updated(authority, references), _ended(authority, references)))


def extreme_events() -> st.SearchStrategy[Event]:
    """Any event of any of the nine types, at the edges."""
    return _event(
        st.one_of(
            _verified(),
            _retracted(),
            _granted(),
            _withdrawn(),
            _subscription(),
            _updated(),
            _ended(),
            _applied(),
            _audited(),
        )
    )
