"""The resident portal: a small GOV.UK-style web application served by ``rps portal``.

Residents sign in (OpenID Connect through authlib, GOV.UK One Login in
production; a clearly marked development sign-in only on loopback and only
when no provider is configured), see their details and who has them, share
them with an authority after a preview, stop sharing, and report a new email
address or phone number once. The pages read the hub's read model; what the
resident does is published as consent and attribute events with the
``producers`` SDK. Sign-ins live server-side in the hub's database, so
sign-out ends them for every copy of the cookie.
"""

from portal._app import create_app
from portal._development import dev_sign_in_offered, dev_sign_in_refusal
from portal._oidc import OneLogin
from portal._portal import Portal
from portal._serve import serve
from portal._session_store import SessionStore, SignedIn
from portal.errors import PortalError, PortalUnavailable, SignInRefused

__all__ = [
    "OneLogin",
    "Portal",
    "PortalError",
    "PortalUnavailable",
    "SessionStore",
    "SignInRefused",
    "SignedIn",
    "create_app",
    "dev_sign_in_offered",
    "dev_sign_in_refusal",
    "serve",
]
