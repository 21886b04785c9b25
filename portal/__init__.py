"""The resident portal: a small GOV.UK-style web application served by ``rps portal``.

Residents sign in (OpenID Connect, GOV.UK One Login in production; a clearly
marked development sign-in locally), see their details and who has them, share
them with an authority after a preview, stop sharing, and report a new email
address or phone number once. The pages read the hub's read model; what the
resident does is published as consent and attribute events with the
``producers`` SDK.
"""

from portal._app import Portal, create_app
from portal._oidc import OidcClient, PendingSignIn
from portal._serve import serve
from portal.errors import PortalError, PortalUnavailable, SignInRefused

__all__ = [
    "OidcClient",
    "PendingSignIn",
    "Portal",
    "PortalError",
    "PortalUnavailable",
    "SignInRefused",
    "create_app",
    "serve",
]
