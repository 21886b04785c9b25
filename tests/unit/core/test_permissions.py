"""Who may say what: properties of the permission check over every role and every request."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas import AssuranceLevel, AttributeName
from schemas.types import EVENT_TYPES, short_name
from streams.core import ATTRIBUTES, LEVELS
from streams.core.permissions import (
    CATALOGUE,
    Kind,
    Reason,
    Refusal,
    Request,
    Role,
    permitted,
)

KNOWN_METHODS = sorted(
    {
        method
        for permission in CATALOGUE.values()
        for rule in permission.attributes.values()
        for method in rule.methods
    }
)
AUTHORITIES = ("E08000012", "E08000015", "urn:org:dwp", "urn:org:gro", "urn:org:resident-app")

roles = st.sampled_from(list(Role))
kinds = st.sampled_from(list(Kind))
attributes = st.sampled_from([*ATTRIBUTES, "national_insurance_number"])
methods = st.sampled_from([*KNOWN_METHODS, "made_up", "self_asserted"])
authorities = st.sampled_from(AUTHORITIES)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """Any request, of any kind, with fields drawn from the catalogue and just outside it."""
    return Request(
        kind=draw(kinds),
        attribute=draw(st.none() | attributes),
        level=draw(st.none() | st.integers(min_value=0, max_value=len(LEVELS) - 1)),
        method=draw(st.none() | methods),
        authority=draw(st.none() | authorities),
        own_authority=draw(st.none() | authorities),
    )


@given(roles, requests())
def test_nothing_outside_the_catalogue_is_ever_permitted(role: Role, request: Request) -> None:
    """A permitted request is always one the role's catalogue entry lists, within its limits."""
    if permitted(role, request) is not None:
        return
    permission = CATALOGUE[role]
    assert request.kind in permission.kinds
    if request.kind in (Kind.ATTRIBUTE_VERIFIED, Kind.ATTRIBUTE_RETRACTED):
        rule = permission.attributes[request.attribute or ""]
        if request.kind is Kind.ATTRIBUTE_VERIFIED:
            assert request.level is not None
            assert request.level <= rule.highest
            assert request.method in rule.methods
    if request.kind is Kind.SUBSCRIPTION_CHANGED and role is not Role.OPERATOR:
        assert request.authority == request.own_authority is not None


@given(roles, requests(), st.integers(min_value=0, max_value=3))
def test_raising_assurance_never_turns_a_refusal_into_a_permission(
    role: Role, request: Request, raise_by: int
) -> None:
    """Monotone in assurance: what is refused at one level is refused at every higher level."""
    if request.level is None or permitted(role, request) is None:
        return
    higher = min(request.level + raise_by, len(LEVELS) - 1)
    raised = Request(
        request.kind,
        request.attribute,
        higher,
        request.method,
        request.authority,
        request.own_authority,
    )
    assert permitted(role, raised) is not None


@given(roles, st.sampled_from([Kind.CONSENT_GRANTED, Kind.CONSENT_WITHDRAWN]), authorities)
def test_consent_events_are_refused_for_every_role_but_the_resident_app(
    role: Role, kind: Kind, authority: str
) -> None:
    """Only the resident-facing source may grant or withdraw a resident's consent."""
    outcome = permitted(role, Request(kind, authority=authority, own_authority=authority))
    if role is Role.RESIDENT_APP:
        assert outcome is None
    else:
        assert outcome == Refusal(Reason.NOT_PERMITTED_EVENT_TYPE)


@given(roles, authorities, authorities)
def test_a_subscription_change_naming_another_authority_is_refused_for_non_operators(
    role: Role, named: str, own: str
) -> None:
    """Only an operator may change another authority's subscription."""
    outcome = permitted(
        role, Request(Kind.SUBSCRIPTION_CHANGED, authority=named, own_authority=own)
    )
    may_subscribe = role in (Role.LOCAL_AUTHORITY, Role.CENTRAL_SERVICE)
    if role is Role.OPERATOR or (may_subscribe and named == own):
        assert outcome is None
    else:
        assert outcome is not None


@given(roles, requests())
def test_the_gateway_never_publishes_in_its_own_name(role: Role, request: Request) -> None:
    """The gateway role only vouches: every request in its own name is refused."""
    assert permitted(Role.GATEWAY, request) == Refusal(Reason.NOT_PERMITTED_EVENT_TYPE)


@given(st.text(max_size=20).filter(lambda text: text not in set(Role)), requests())
def test_an_unknown_role_is_refused(role: str, request: Request) -> None:
    """A role the catalogue does not know is refused, whatever it asks."""
    assert permitted(role, request) == Refusal(Reason.UNKNOWN_ROLE)


@given(roles, st.sampled_from(ATTRIBUTES))
def test_a_retraction_is_allowed_exactly_where_the_claim_would_be(role: Role, name: str) -> None:
    """A role may retract an attribute iff it may publish that attribute at some level."""
    retraction = permitted(role, Request(Kind.ATTRIBUTE_RETRACTED, attribute=name))
    rule = CATALOGUE[role].attributes.get(name)
    claimable = rule is not None and Kind.ATTRIBUTE_VERIFIED in CATALOGUE[role].kinds
    assert (retraction is None) == claimable


def test_the_issue_cases() -> None:
    """The forged cases from the issue are refused, the legitimate paths are allowed."""
    death = Request(
        Kind.ATTRIBUTE_VERIFIED, "date_of_death", LEVELS.index("very_high"), "death_registration"
    )
    assert permitted(Role.LOCAL_AUTHORITY, death) == Refusal(Reason.NOT_PERMITTED_ATTRIBUTE)
    assert permitted(Role.REGISTRAR, death) is None
    email = Request(Kind.ATTRIBUTE_VERIFIED, "email", LEVELS.index("low"), "self_asserted")
    assert permitted(Role.RESIDENT_APP, email) is None
    assert permitted(Role.LOCAL_AUTHORITY, email) == Refusal(Reason.NOT_PERMITTED_METHOD)
    medium_email = Request(Kind.ATTRIBUTE_VERIFIED, "email", 1, "self_asserted")
    assert permitted(Role.RESIDENT_APP, medium_email) == Refusal(Reason.ABOVE_PERMITTED_ASSURANCE)
    address = Request(Kind.ATTRIBUTE_VERIFIED, "address", 2, "council_tax_record")
    assert permitted(Role.LOCAL_AUTHORITY, address) is None
    assert permitted(Role.CENTRAL_SERVICE, address) == Refusal(Reason.ABOVE_PERMITTED_ASSURANCE)
    own = Request(Kind.SUBSCRIPTION_CHANGED, authority="E08000012", own_authority="E08000012")
    other = Request(Kind.SUBSCRIPTION_CHANGED, authority="E08000015", own_authority="E08000012")
    assert permitted(Role.LOCAL_AUTHORITY, own) is None
    assert permitted(Role.LOCAL_AUTHORITY, other) == Refusal(Reason.NOT_OWN_SUBSCRIPTION)
    withdrawal = Request(Kind.CONSENT_WITHDRAWN, authority="E08000015")
    assert permitted(Role.LOCAL_AUTHORITY, withdrawal) == Refusal(Reason.NOT_PERMITTED_EVENT_TYPE)


def test_the_catalogue_speaks_the_schemas_names_and_levels() -> None:
    """Parity with the contracts: attributes, levels and event kinds are the schemas' own."""
    assert set(ATTRIBUTES) == {name.value for name in AttributeName}
    assert tuple(level.value for level in AssuranceLevel) == LEVELS
    for permission in CATALOGUE.values():
        assert set(permission.attributes) <= set(ATTRIBUTES)
        for rule in permission.attributes.values():
            assert 0 <= rule.highest < len(LEVELS)
            assert rule.methods
    inbound = {short_name(kind).rsplit(".", 1)[0] for kind in EVENT_TYPES}
    assert {kind.value for kind in Kind} <= inbound
