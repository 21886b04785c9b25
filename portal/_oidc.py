"""OpenID Connect sign-in: the authorization-code flow with PKCE, against any issuer.

In production the issuer is GOV.UK One Login (``https://oidc.account.gov.uk/``),
which authenticates the client with ``private_key_jwt``; other providers may use
``client_secret_post``. :meth:`OidcClient.begin` builds the authorization
request and the secrets to keep in the session (state, nonce, PKCE verifier);
:meth:`OidcClient.complete` checks the returned state, redeems the code, and
verifies the ID token's signature, issuer, audience, expiry and nonce before it
returns the subject.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from portal.errors import SignInRefused
from rps.settings import Settings

ALGORITHMS = ("RS256", "ES256", "PS256")


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What the session keeps between the redirect to the provider and the callback."""

    state: str
    nonce: str
    verifier: str

    def to_session(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier}

    @classmethod
    def from_session(cls, data: object) -> PendingSignIn:
        if not isinstance(data, Mapping):
            raise SignInRefused("no_sign_in_under_way")
        try:
            return cls(str(data["state"]), str(data["nonce"]), str(data["verifier"]))
        except KeyError:
            raise SignInRefused("no_sign_in_under_way") from None


def code_challenge(verifier: str) -> str:
    """The S256 PKCE challenge for ``verifier`` (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One relying party of one issuer; the HTTP client is injectable for tests."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        if not settings.portal_oidc_issuer or not settings.portal_oidc_client_id:
            raise ValueError("portal_oidc_issuer and portal_oidc_client_id are required")
        self._issuer = settings.portal_oidc_issuer.rstrip("/")
        self._client_id = settings.portal_oidc_client_id
        self._secret = settings.portal_oidc_client_secret
        self._key_file = settings.portal_oidc_private_key_file
        self._redirect = settings.portal_oidc_redirect_url
        self._scopes = settings.portal_oidc_scopes
        self._vtr = settings.portal_oidc_vtr
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._metadata: dict[str, Any] | None = None

    @property
    def issuer(self) -> str:
        return self._issuer

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once)."""
        if self._metadata is None:
            url = f"{self._issuer}/.well-known/openid-configuration"
            response = await self._get(url)
            self._metadata = dict(response.json())
        return self._metadata

    async def begin(self) -> tuple[str, PendingSignIn]:
        """The URL to send the resident to, and the secrets to keep until they come back."""
        pending = PendingSignIn(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
        )
        params = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": self._redirect,
            "scope": self._scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": code_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        if self._vtr:
            params["vtr"] = self._vtr
        endpoint = str((await self.metadata())["authorization_endpoint"])
        return f"{endpoint}?{urlencode(params)}", pending

    async def complete(self, query: Mapping[str, str], pending: PendingSignIn) -> str:
        """The ``sub`` of the signed-in resident, or :class:`SignInRefused`."""
        if "error" in query:
            raise SignInRefused("provider_error")
        state = query.get("state", "")
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise SignInRefused("state_mismatch")
        code = query.get("code")
        if not code:
            raise SignInRefused("no_code")
        metadata = await self.metadata()
        token_endpoint = str(metadata["token_endpoint"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect,
            "code_verifier": pending.verifier,
            **self._client_authentication(token_endpoint),
        }
        try:
            response = await self._http.post(token_endpoint, data=form)
        except httpx.HTTPError:
            raise SignInRefused("provider_unreachable") from None
        if response.status_code != 200:
            raise SignInRefused("token_request_failed")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("no_id_token")
        claims = await self._verify(id_token, metadata)
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), pending.nonce.encode()):
            raise SignInRefused("nonce_mismatch")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise SignInRefused("no_subject")
        return subject

    def _client_authentication(self, token_endpoint: str) -> dict[str, str]:
        if self._key_file is not None:
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": self._client_id,
                    "sub": self._client_id,
                    "aud": token_endpoint,
                    "jti": str(uuid.uuid4()),
                    "iat": now,
                    "exp": now + 300,
                },
                self._key_file.read_text(),
                algorithm="RS256",
            )
            return {
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }
        secret = self._secret.get_secret_value() if self._secret else ""
        return {"client_id": self._client_id, "client_secret": secret}

    async def _verify(self, id_token: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise SignInRefused("id_token_malformed") from None
        keys = (await self._get(str(metadata["jwks_uri"]))).json().get("keys", [])
        matching = [k for k in keys if k.get("kid") == header.get("kid")] or keys
        for key in matching:
            try:
                signing_key = jwt.PyJWK(key)
                claims: dict[str, Any] = jwt.decode(
                    id_token,
                    signing_key,
                    algorithms=list(ALGORITHMS),
                    audience=self._client_id,
                    issuer=str(metadata.get("issuer", self._issuer)),
                    options={"require": ["exp", "iat", "sub", "aud", "iss"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                raise SignInRefused("id_token_invalid") from None
            return claims
        raise SignInRefused("id_token_signature")

    async def _get(self, url: str) -> httpx.Response:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError:
            raise SignInRefused("provider_unreachable") from None
        if response.status_code != 200:
            raise SignInRefused("provider_error")
        return response

    async def close(self) -> None:
        await self._http.aclose()
