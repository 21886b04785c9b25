"""Hypothesis strategies for valid events of every type, shared by every package's tests.

Each event strategy takes optional keyword arguments that pin the resident,
authority, source or attribute, so a test can build a scenario (many claims
about one resident, consents for one authority...). Every instant drawn lies
between 2000 and the end of 2024, so none is "in the future". Importing this
module imports hypothesis; importing ``schemas`` does not.
"""

from __future__ import annotations

from hypothesis import strategies as st

from schemas._inbound_strategies import (
    attribute_retracted,
    attribute_verified,
    consent_granted,
    consent_withdrawn,
    inbound_events,
    subscription_changed,
)
from schemas._outbound_strategies import (
    audit_recorded,
    consent_ended,
    delivery_applied,
    profile_updated,
    provenances,
)
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
from schemas.events import Event

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


def events() -> st.SearchStrategy[Event]:
    """Any event of any of the nine types."""
    return st.one_of(
        inbound_events(),
        profile_updated(),
        consent_ended(),
        delivery_applied(),
        audit_recorded(),
    )
