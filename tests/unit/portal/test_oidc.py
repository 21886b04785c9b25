"""OpenID Connect sign-in: the authorization request, and refusal of a bad state or nonce."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from portal import OidcClient, PendingSignIn, SignInRefused
from portal._oidc import code_challenge
from portal._session import load_resident_map, resident_for
from rps.settings import Settings

ISSUER = "https://oidc.example.test"
CLIENT = "rps-portal"


class Provider:
    """A stand-in OpenID provider (discovery, token, JWKS) answering on an httpx transport."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.nonce = ""
        self.token_forms: list[dict[str, list[str]]] = []

    def id_token(self, nonce: str, **changes: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT,
            "sub": "urn:fdc:gov.uk:2022:abc",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **changes,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        if path == "/jwks":
            jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
            return httpx.Response(200, json={"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
        if path == "/token":
            self.token_forms.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={"id_token": self.id_token(self.nonce)})
        return httpx.Response(404)


@pytest.fixture
def provider() -> Provider:
    return Provider()


def client_for(provider: Provider, **changes: Any) -> OidcClient:
    settings = Settings(
        portal_oidc_issuer=ISSUER,
        portal_oidc_client_id=CLIENT,
        portal_oidc_redirect_url="https://portal.test/sign-in/callback",
        **changes,
    )
    return OidcClient(settings, httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)))


async def test_the_authorization_request_carries_state_nonce_and_an_s256_pkce_challenge(
    provider: Provider,
) -> None:
    """begin() asks for a code with the client, redirect, scopes, state, nonce and PKCE S256."""
    url, pending = await client_for(provider, portal_oidc_vtr='["Cl.Cm"]').begin()
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT
    assert query["redirect_uri"] == "https://portal.test/sign-in/callback"
    assert query["scope"] == "openid email phone"
    assert query["vtr"] == '["Cl.Cm"]'
    assert query["state"] == pending.state
    assert query["nonce"] == pending.nonce
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == code_challenge(pending.verifier)
    assert pending.verifier not in url


async def test_a_good_callback_redeems_the_code_with_the_verifier_and_returns_the_subject(
    provider: Provider,
) -> None:
    """complete() sends the PKCE verifier, checks the ID token and nonce, and returns ``sub``."""
    oidc = client_for(provider, portal_oidc_client_secret="s3cret")
    _, pending = await oidc.begin()
    provider.nonce = pending.nonce
    subject = await oidc.complete({"state": pending.state, "code": "abc"}, pending)
    assert subject == "urn:fdc:gov.uk:2022:abc"
    [form] = provider.token_forms
    assert form["code_verifier"] == [pending.verifier]
    assert form["code"] == ["abc"]


async def test_a_callback_with_another_state_is_refused_before_any_token_request(
    provider: Provider,
) -> None:
    """A state that is not the session's is refused (state_mismatch) and no code is redeemed."""
    oidc = client_for(provider)
    _, pending = await oidc.begin()
    with pytest.raises(SignInRefused) as refused:
        await oidc.complete({"state": "forged", "code": "abc"}, pending)
    assert refused.value.reason == "state_mismatch"
    assert provider.token_forms == []


async def test_an_id_token_with_another_nonce_is_refused(provider: Provider) -> None:
    """An ID token whose nonce is not the session's is refused (nonce_mismatch)."""
    oidc = client_for(provider)
    _, pending = await oidc.begin()
    provider.nonce = "replayed-nonce"
    with pytest.raises(SignInRefused) as refused:
        await oidc.complete({"state": pending.state, "code": "abc"}, pending)
    assert refused.value.reason == "nonce_mismatch"


async def test_an_id_token_signed_by_another_key_is_refused(provider: Provider) -> None:
    """An ID token not signed by the provider's published key is refused."""
    oidc = client_for(provider)
    _, pending = await oidc.begin()
    provider.nonce = pending.nonce
    provider.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    real = provider.handle

    def forged_jwks(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/jwks":
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = json.loads(RSAAlgorithm.to_jwk(other.public_key()))
            return httpx.Response(200, json={"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
        return real(request)

    provider.handle = forged_jwks  # type: ignore[method-assign]
    oidc = client_for(provider)
    with pytest.raises(SignInRefused) as refused:
        await oidc.complete({"state": pending.state, "code": "abc"}, pending)
    assert refused.value.reason == "id_token_signature"


def test_a_callback_without_a_sign_in_under_way_is_refused() -> None:
    """A session holding no pending sign-in cannot complete one."""
    with pytest.raises(SignInRefused):
        PendingSignIn.from_session(None)


def test_subjects_map_to_linked_residents_or_a_stable_derived_id(tmp_path: Path) -> None:
    """A linked sub maps to its resident; others to a UUID stable per issuer and sub."""
    linked = "3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
    path = tmp_path / "residents.json"
    path.write_text(json.dumps({"sub-linked": linked}))
    mapping = load_resident_map(path)
    assert resident_for(ISSUER, "sub-linked", mapping) == linked
    derived = resident_for(ISSUER, "sub-other", mapping)
    assert derived == resident_for(ISSUER, "sub-other", {})
    assert derived != resident_for("https://other.test", "sub-other", {})
    path.write_text(json.dumps({"sub": "not-a-uuid"}))
    with pytest.raises(ValueError, match="resident id"):
        load_resident_map(path)
