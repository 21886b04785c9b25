"""A refused subscription change as the core audits it: a rejection filed under the authority
the change names, whatever the reason."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from streams.core import AuditDecision, Reason, SubscriptionChange, subscription_rejection
from tests.unit.core.strategies import ATTRS, AUTHORITIES

ORIGIN_REASONS = ("unsigned", "bad_signature", "unknown_key", "revoked_key", "signer_not_source")


@st.composite
def changes(draw: st.DrawFn) -> SubscriptionChange:
    """Any subscription change of the small world: starting, changing or stopping one."""
    return SubscriptionChange(
        id=draw(st.from_regex(r"\A[a-z0-9-]{1,20}\Z")),
        authority=draw(st.sampled_from(AUTHORITIES)),
        attribute=draw(st.sampled_from(ATTRS)),
        minimum_level=draw(st.integers(min_value=0, max_value=3)),
        active=draw(st.booleans()),
        issued_at=draw(st.datetimes(timezones=st.just(dt.UTC))),
    )


reasons = st.sampled_from([*ORIGIN_REASONS, *(str(r) for r in Reason)])
sources = st.sampled_from([*AUTHORITIES, "urn:org:gro"])


@given(changes(), sources, reasons)
def test_a_refused_change_is_a_rejection_filed_under_the_authority_it_names(
    change: SubscriptionChange, source: str, reason: str
) -> None:
    """The entry is a rejection with the refusal's reason, about the change's event, filed under
    (and naming) the authority whose subscription it would have changed, with the attribute
    and the minimum level it asked for; who sent it is the event's source."""
    entry = subscription_rejection(change, source, reason)
    assert entry.decision is AuditDecision.REJECTED
    assert entry.reason == reason
    assert entry.resident == change.authority == entry.authority
    assert (entry.event_id, entry.event_source) == (change.id, source)
    assert (entry.attribute, entry.level) == (change.attribute, change.minimum_level)
    assert entry.event_kind == "SubscriptionChange"
    assert (entry.signed_with, entry.vouched_by) == (None, None)
