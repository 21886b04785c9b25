"""When the portal offers its development sign-in: a pure rule over the settings.

The development sign-in lets whoever reaches the page choose any resident, so
it is offered only where nobody else can reach it and nothing better is set
up: never in production, never when it is switched off, never when an OpenID
provider is configured, and only when the portal listens on a loopback host.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from rps.settings import Settings

Refusal = Literal["production", "switched_off", "oidc_configured", "not_loopback"]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) can only be reached from this machine."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def oidc_configured(settings: Settings) -> bool:
    """Whether an OpenID provider is set up (either its issuer or the client id is given)."""
    return bool(settings.portal_oidc_issuer or settings.portal_oidc_client_id)


def dev_sign_in_refusal(settings: Settings) -> Refusal | None:
    """Why the development sign-in is not offered, or ``None`` when it is."""
    if settings.environment == "production":
        return "production"
    if settings.portal_development_sign_in is False:
        return "switched_off"
    if oidc_configured(settings):
        return "oidc_configured"
    if not is_loopback(settings.portal_host):
        return "not_loopback"
    return None


def dev_sign_in_offered(settings: Settings) -> bool:
    """Whether the portal offers (and accepts) its development sign-in."""
    return dev_sign_in_refusal(settings) is None
