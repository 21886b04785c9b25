"""Who may say what: each publisher's role, and what the role allows it to publish.

A role names a kind of publisher (a local authority, a central service, the
registrar, the resident app, an operator, or the gateway, which only vouches
for others and never publishes in its own name). The catalogue says, per role,
which event kinds it may publish and, for attribute claims, which attributes,
up to which assurance level and by which verification methods. Two rules are
not in the table because they depend on the event itself: a subscription
change must name the publisher's own authority (an operator may name any), and
a retraction is allowed for any attribute the role may publish (the merge rule
already counts a retraction only from the claim's own publisher).

:func:`permitted` answers one question and is total: it returns ``None`` when
the event is allowed and a :class:`Refusal` with a precise reason otherwise.
Nothing outside :data:`CATALOGUE` is ever allowed, and raising a claim's
assurance never turns a refusal into a permission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Role(StrEnum):
    """What kind of publisher a registered source is."""

    LOCAL_AUTHORITY = "local_authority"
    CENTRAL_SERVICE = "central_service"
    REGISTRAR = "registrar"
    RESIDENT_APP = "resident_app"
    OPERATOR = "operator"
    GATEWAY = "gateway"


class Kind(StrEnum):
    """The inbound event kinds (the CloudEvents type without namespace and version)."""

    ATTRIBUTE_VERIFIED = "attribute.verified"
    ATTRIBUTE_RETRACTED = "attribute.retracted"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    SUBSCRIPTION_CHANGED = "subscription.changed"


class Reason(StrEnum):
    """Why an event is refused."""

    UNKNOWN_ROLE = "unknown_role"
    NOT_PERMITTED_EVENT_TYPE = "not_permitted_event_type"
    NOT_PERMITTED_ATTRIBUTE = "not_permitted_attribute"
    ABOVE_PERMITTED_ASSURANCE = "above_permitted_assurance"
    NOT_PERMITTED_METHOD = "not_permitted_method"
    NOT_OWN_SUBSCRIPTION = "not_own_subscription"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused event: the reason code, the same for the gateway, the worker and replay."""

    reason: Reason


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """What a role may claim of one attribute: up to ``highest`` (a level rank), by ``methods``."""

    highest: int
    methods: frozenset[str]


@dataclass(frozen=True, slots=True)
class Permission:
    """Everything one role may publish."""

    kinds: frozenset[Kind]
    attributes: Mapping[str, AttributeRule]


@dataclass(frozen=True, slots=True)
class Request:
    """One event, reduced to what the permission check looks at.

    ``attribute``, ``level`` (a rank, 0 = low) and ``method`` are set for a
    claim, ``attribute`` alone for a retraction; ``authority`` is the authority
    a subscription change names; ``own_authority`` the authority the publishing
    source stands for (``urn:gss:E08000012`` stands for ``E08000012``).
    """

    kind: Kind
    attribute: str | None = None
    level: int | None = None
    method: str | None = None
    authority: str | None = None
    own_authority: str | None = None


LOW, MEDIUM, HIGH, VERY_HIGH = range(4)

_VERIFY_AND_RETRACT: Final = frozenset({Kind.ATTRIBUTE_VERIFIED, Kind.ATTRIBUTE_RETRACTED})
_SUBSCRIBE: Final = frozenset({Kind.SUBSCRIPTION_CHANGED})


def _rule(highest: int, *methods: str) -> AttributeRule:
    return AttributeRule(highest, frozenset(methods))


def _permission(kinds: frozenset[Kind], **attributes: AttributeRule) -> Permission:
    return Permission(kinds, MappingProxyType(dict(attributes)))


CATALOGUE: Final[Mapping[Role, Permission]] = MappingProxyType(
    {
        Role.LOCAL_AUTHORITY: _permission(
            _VERIFY_AND_RETRACT | _SUBSCRIBE,
            full_name=_rule(MEDIUM, "council_tax_record", "electoral_register"),
            address=_rule(HIGH, "council_tax_record", "electoral_register"),
            email=_rule(MEDIUM, "confirmation_link"),
            phone=_rule(MEDIUM, "sms_one_time_code"),
        ),
        Role.CENTRAL_SERVICE: _permission(
            _VERIFY_AND_RETRACT | _SUBSCRIBE,
            full_name=_rule(HIGH, "benefit_record", "driving_licence_record", "passport_record"),
            date_of_birth=_rule(
                HIGH, "benefit_record", "driving_licence_record", "passport_record"
            ),
            address=_rule(MEDIUM, "benefit_record", "driving_licence_record"),
            email=_rule(MEDIUM, "confirmation_link"),
            phone=_rule(MEDIUM, "sms_one_time_code"),
        ),
        Role.REGISTRAR: _permission(
            _VERIFY_AND_RETRACT,
            full_name=_rule(VERY_HIGH, "birth_registration", "death_registration"),
            date_of_birth=_rule(VERY_HIGH, "birth_registration", "death_registration"),
            date_of_death=_rule(VERY_HIGH, "death_registration"),
        ),
        Role.RESIDENT_APP: _permission(
            _VERIFY_AND_RETRACT | frozenset({Kind.CONSENT_GRANTED, Kind.CONSENT_WITHDRAWN}),
            email=_rule(LOW, "self_asserted", "self_declared"),
            phone=_rule(LOW, "self_asserted", "self_declared"),
        ),
        Role.OPERATOR: _permission(_SUBSCRIBE),
        Role.GATEWAY: _permission(frozenset()),
    }
)
"""The default catalogue: the table in docs/trust.md is this mapping, written out."""

_ANY_AUTHORITY: Final = frozenset({Role.OPERATOR})


def permitted(role: str, request: Request) -> Refusal | None:
    """``None`` when a source with ``role`` may publish ``request``, else why not.

    The checks run in a fixed order (role, event kind, attribute, assurance,
    method, own subscription), so a refused event always gets the same reason.
    """
    try:
        permission = CATALOGUE[Role(role)]
    except ValueError:
        return Refusal(Reason.UNKNOWN_ROLE)
    if request.kind not in permission.kinds:
        return Refusal(Reason.NOT_PERMITTED_EVENT_TYPE)
    if request.kind in _VERIFY_AND_RETRACT:
        return _attribute_refusal(permission, request)
    own = request.authority is not None and request.authority == request.own_authority
    if request.kind is Kind.SUBSCRIPTION_CHANGED and Role(role) not in _ANY_AUTHORITY and not own:
        return Refusal(Reason.NOT_OWN_SUBSCRIPTION)
    return None


def _attribute_refusal(permission: Permission, request: Request) -> Refusal | None:
    rule = permission.attributes.get(request.attribute or "")
    if rule is None:
        return Refusal(Reason.NOT_PERMITTED_ATTRIBUTE)
    if request.kind is Kind.ATTRIBUTE_RETRACTED:
        return None
    if request.level is None or request.level > rule.highest:
        return Refusal(Reason.ABOVE_PERMITTED_ASSURANCE)
    if request.method not in rule.methods:
        return Refusal(Reason.NOT_PERMITTED_METHOD)
    return None
