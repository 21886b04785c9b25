"""The read model shows the claim that stands and what each consent allows now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.readmodel._facts import ClaimSeen, GrantSeen, RetractionSeen, WithdrawalSeen
from consumers.readmodel._merge import consent_now, later, standing_claim

RESIDENT = "7d3c6a0e-2f4b-4f0e-9a51-3c1d2e4f5a6b"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _claim(
    claim_id: str, hours: int, source: str = "urn:gss:E08000015", level: str = "low"
) -> ClaimSeen:
    return ClaimSeen(
        claim_id=claim_id,
        resident=RESIDENT,
        attribute="address",
        source=source,
        assurance=level,
        method="council_tax_record",
        verified_at=T0 + timedelta(hours=hours),
        value_json=f'"{claim_id}"',
    )


def _retraction(claim_id: str, source: str) -> RetractionSeen:
    return RetractionSeen(
        event_id=f"r-{claim_id}-{source}",
        resident=RESIDENT,
        claim_id=claim_id,
        attribute="address",
        source=source,
        reason="mistyped",
        issued_at=T0,
    )


def test_the_newest_claim_stands_at_any_level() -> None:
    """The greatest verified_at wins even over a higher assurance level."""
    best = standing_claim([_claim("a", 1, level="high"), _claim("b", 2, level="low")], [])
    assert best is not None
    assert best.claim_id == "b"


def test_ties_on_time_are_broken_by_claim_id() -> None:
    """Two claims verified at the same instant: the greater id stands, in any order."""
    claims = [_claim("b", 1), _claim("a", 1)]
    assert standing_claim(claims, []) == standing_claim(list(reversed(claims)), [])
    assert (standing_claim(claims, []) or claims[1]).claim_id == "b"


def test_a_retraction_counts_only_from_the_claims_own_publisher() -> None:
    """DWP cannot retract Wirral's claim; Wirral can, and then the older claim stands."""
    claims = [_claim("old", 1), _claim("new", 2)]
    assert (
        standing_claim(claims, [_retraction("new", "urn:org:dwp")]) or claims[0]
    ).claim_id == "new"
    after = standing_claim(claims, [_retraction("new", "urn:gss:E08000015")])
    assert after is not None
    assert after.claim_id == "old"
    assert standing_claim([claims[1]], [_retraction("new", "urn:gss:E08000015")]) is None


def _grant(expires: datetime | None = None) -> GrantSeen:
    return GrantSeen(
        event_id="g1",
        resident=RESIDENT,
        authority="E08000012",
        attributes=("address", "email"),
        purpose="council_tax",
        local_reference="LCC-CT-1",
        expires_at=expires,
        issued_at=T0,
    )


def _withdrawal(attribute: str, hours: int) -> WithdrawalSeen:
    return WithdrawalSeen(
        event_id=f"w-{attribute}",
        resident=RESIDENT,
        authority="E08000012",
        attributes=(attribute,),
        issued_at=T0 + timedelta(hours=hours),
    )


def test_consent_statuses_follow_withdrawals_and_expiry() -> None:
    """Active, partly withdrawn, withdrawn and expired are told apart at ``now``."""
    now = T0 + timedelta(days=1)
    assert consent_now("E08000012", _grant(), [], now).status == "active"
    partly = consent_now("E08000012", _grant(), [_withdrawal("email", 1)], now)
    assert (partly.status, partly.allowed) == ("partly_withdrawn", ("address",))
    assert consent_now("E08000012", _grant(), [_withdrawal("*", 1)], now).status == "withdrawn"
    expired = consent_now("E08000012", _grant(expires=T0 + timedelta(hours=2)), [], now)
    assert (expired.status, expired.allowed) == ("expired", ())


def test_a_withdrawal_issued_before_the_grant_does_not_count() -> None:
    """A grant issued after a withdrawal restores the consent (last writer wins)."""
    now = T0 + timedelta(days=1)
    assert consent_now("E08000012", _grant(), [_withdrawal("*", -1)], now).status == "active"


def test_last_writer_wins_on_time_then_id() -> None:
    """A later time wins; on equal times the greater id wins; nothing beats itself."""
    assert later(None, (T0, "a"))
    assert later((T0, "a"), (T0, "b"))
    assert not later((T0, "b"), (T0, "a"))
    assert not later((T0, "a"), (T0, "a"))
