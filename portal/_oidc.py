"""OpenID Connect sign-in (GOV.UK One Login in production) through authlib's Starlette client.

authlib does the whole authorization-code flow: it reads the provider's
discovery document, sends the resident with a random ``state``, a ``nonce``
and a PKCE S256 challenge (kept in the session between the two legs), redeems
the code with the verifier, and checks the ID token's signature against the
provider's JWKS and its issuer, audience, expiry and nonce. The client
authenticates with ``private_key_jwt`` (what One Login uses) when a key file
is given, else with ``client_secret_post``.

This module adds what is ours: the settings, the One Login ``vtr`` parameter,
turning every failure into a :class:`~portal.errors.SignInRefused` with a short
reason, and mapping a provider's ``sub`` to the hub's resident id.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, Final

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from authlib.integrations.starlette_client.apps import StarletteOAuth2App
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from fastapi import Request, Response
from joserfc.errors import BadSignatureError, InvalidClaimError, JoseError

from portal.errors import SignInRefused
from rps.settings import Settings
from schemas.ids import UUID_PATTERN

NAME: Final = "one_login"
RESIDENT_ID: Final = re.compile(UUID_PATTERN)
NAMESPACE: Final = uuid.UUID("8a7f6c1e-3d2b-5e4f-9a1b-2c3d4e5f6a7b")


class OneLogin:
    """One relying party of one OpenID provider; ``transport`` stands in for the network."""

    def __init__(
        self, settings: Settings, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.portal_oidc_issuer or not settings.portal_oidc_client_id:
            raise ValueError("portal_oidc_issuer and portal_oidc_client_id are required")
        self.issuer = settings.portal_oidc_issuer.rstrip("/")
        self._redirect_url = settings.portal_oidc_redirect_url
        self._extra = {"vtr": settings.portal_oidc_vtr} if settings.portal_oidc_vtr else {}
        client_kwargs: dict[str, Any] = {
            "scope": settings.portal_oidc_scopes,
            "code_challenge_method": "S256",
            "timeout": 10.0,
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        key_file = settings.portal_oidc_private_key_file
        if key_file is not None:
            client_kwargs["token_endpoint_auth_method"] = PrivateKeyJWT.name
            secret = key_file.read_text()
            auth_methods = [PrivateKeyJWT()]
        else:
            client_kwargs["token_endpoint_auth_method"] = "client_secret_post"
            given = settings.portal_oidc_client_secret
            secret = given.get_secret_value() if given else ""
            auth_methods = []
        self._client: StarletteOAuth2App = OAuth().register(
            NAME,
            client_id=settings.portal_oidc_client_id,
            client_secret=secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
            client_auth_methods=auth_methods,
        )

    async def redirect(self, request: Request) -> Response:
        """Send the resident to the provider (state, nonce, PKCE verifier kept in the session)."""
        try:
            response: Response = await self._client.authorize_redirect(
                request, self._redirect_url, **self._extra
            )
        except httpx2.HTTPError:
            raise SignInRefused("provider_unreachable") from None
        return response

    async def subject(self, request: Request) -> str:
        """The ``sub`` of the resident coming back from the provider, or :class:`SignInRefused`."""
        try:
            token = await self._client.authorize_access_token(request)
        except OAuthError as error:
            raise SignInRefused(_oauth_reason(error)) from None
        except httpx2.HTTPStatusError:
            raise SignInRefused("provider_error") from None
        except httpx2.HTTPError:
            raise SignInRefused("provider_unreachable") from None
        except BadSignatureError:
            raise SignInRefused("id_token_signature") from None
        except InvalidClaimError as error:
            raise SignInRefused(_claim_reason(error)) from None
        except (JoseError, ValueError):
            raise SignInRefused("id_token_invalid") from None
        claims = token.get("userinfo")
        if not claims:
            raise SignInRefused("no_id_token")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise SignInRefused("no_subject")
        return subject


def _oauth_reason(error: OAuthError) -> str:
    if error.error == "mismatching_state":
        return "state_mismatch"
    if error.error in ("missing_token", "invalid_grant", "invalid_client", "invalid_request"):
        return "token_request_failed"
    return "provider_error"


def _claim_reason(error: InvalidClaimError) -> str:
    return "nonce_mismatch" if "nonce" in str(error) else "id_token_invalid"


def load_resident_map(path: Path | None) -> dict[str, str]:
    """The hand-made links from an OIDC ``sub`` to a hub resident id (a JSON object)."""
    if path is None:
        return {}
    mapping = json.loads(path.read_text())
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and RESIDENT_ID.match(v)
        for k, v in mapping.items()
    ):
        raise ValueError("portal_resident_map must map each sub to a resident id (a UUID)")
    return mapping


def resident_for(issuer: str, subject: str, mapping: dict[str, str]) -> str:
    """The hub resident id for an OIDC subject: a linked id, else one derived from issuer and sub.

    The derived id is a name-based UUID (version 5) of ``issuer|sub``: stable for
    the same person at the same provider, and carrying no national identifier.
    """
    linked = mapping.get(subject)
    if linked is not None:
        return linked
    return str(uuid.uuid5(NAMESPACE, f"{issuer}|{subject}"))
