"""OpenID Connect sign-in through the portal's routes, against a stand-in provider.

The provider (discovery, token, JWKS) answers on an httpx2 mock transport; the
browser is the test's client, following the redirects by hand.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from portal import OneLogin
from portal._oidc import load_resident_map, resident_for
from tests.unit.portal.conftest import Site, portal_settings, site_for

ISSUER = "https://oidc.example.test"
CLIENT = "rps-portal"
SUB = "urn:fdc:gov.uk:2022:abc"
CALLBACK = "https://portal.test/sign-in/callback"


class Provider:
    """A stand-in OpenID provider: discovery, token endpoint and JWKS."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.published = self.key
        self.nonce: str | None = None  # None: echo the nonce of the authorization request
        self.token_forms: list[dict[str, str]] = []
        self.requested_nonce = ""

    def id_token(self, **changes: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT,
            "sub": SUB,
            "iat": now,
            "exp": now + 300,
            "nonce": self.requested_nonce if self.nonce is None else self.nonce,
            **changes,
        }
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx2.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if path == "/jwks":
            return httpx2.Response(200, json={"keys": [self.published.as_dict(private=False)]})
        if path == "/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.token_forms.append(form)
            body = {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token()}
            return httpx2.Response(200, json=body)
        return httpx2.Response(404)


@pytest.fixture
def provider() -> Provider:
    return Provider()


async def one_login_site(
    provider: Provider, seeded: str, tmp_path: Path, **changes: Any
) -> AsyncIterator[Site]:
    settings = portal_settings(
        tmp_path,
        portal_oidc_issuer=ISSUER,
        portal_oidc_client_id=CLIENT,
        portal_oidc_redirect_url=CALLBACK,
        **changes,
    )
    oidc = OneLogin(settings, httpx2.MockTransport(provider.handle))
    async for site in site_for(settings, seeded, oidc=oidc):
        yield site


@pytest.fixture
async def site(provider: Provider, seeded: str, tmp_path: Path) -> AsyncIterator[Site]:
    """The portal with One Login set up (client_secret_post)."""
    async for s in one_login_site(
        provider, seeded, tmp_path, portal_oidc_client_secret="s3cret", portal_oidc_vtr='["Cl.Cm"]'
    ):
        yield s


async def authorize(site: Site, provider: Provider) -> dict[str, str]:
    """Start signing in; the authorization request's query (the provider notes the nonce)."""
    response = await site.client.get("/sign-in/one-login")
    assert response.status_code == 302
    url = urlsplit(response.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    provider.requested_nonce = query.get("nonce", "")
    return query


async def come_back(site: Site, **query: str) -> httpx.Response:
    """The provider sends the resident back (a refusal answers with a problem document)."""
    accept = {"accept": "application/json"}
    return await site.client.get("/sign-in/callback", params=query, headers=accept)


def refusal(response: httpx.Response) -> str:
    """The reason of a refused sign-in, from its problem document."""
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["type"]).removeprefix("urn:rps:portal:")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def test_the_authorization_request_carries_state_nonce_and_an_s256_pkce_challenge(
    site: Site, provider: Provider
) -> None:
    """The redirect asks for a code with the client, redirect, scopes, vtr, state, nonce, PKCE."""
    query = await authorize(site, provider)
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"] == "openid email phone"
    assert query["vtr"] == '["Cl.Cm"]'
    assert len(query["state"]) >= 20
    assert len(query["nonce"]) >= 20
    assert query["code_challenge_method"] == "S256"
    assert "code_verifier" not in query


async def test_a_good_callback_redeems_the_code_with_the_verifier_and_signs_the_resident_in(
    site: Site, provider: Provider
) -> None:
    """The code is redeemed with the PKCE verifier; the checked ID token's sub signs in."""
    query = await authorize(site, provider)
    response = await come_back(site, state=query["state"], code="abc")
    resident = resident_for(ISSUER, SUB, {})
    assert response.status_code == 303
    assert response.headers["location"] == f"/residents/{resident}/your-details"
    [form] = provider.token_forms
    assert form["code"] == "abc"
    assert s256(form["code_verifier"]) == query["code_challenge"]
    assert form["client_id"] == CLIENT
    assert form["client_secret"] == "s3cret"  # client_secret_post
    page = await site.client.get(f"/residents/{resident}/your-details")
    assert page.status_code == 200


async def test_a_callback_with_another_state_is_refused_before_any_token_request(
    site: Site, provider: Provider
) -> None:
    """A state that is not the session's is refused (state_mismatch) and no code is redeemed."""
    await authorize(site, provider)
    assert refusal(await come_back(site, state="forged", code="abc")) == "state_mismatch"
    assert provider.token_forms == []


async def test_a_callback_without_a_sign_in_under_way_is_refused(
    site: Site, provider: Provider
) -> None:
    """A session holding no sign-in under way cannot complete one."""
    assert refusal(await come_back(site, state="any", code="abc")) == "state_mismatch"
    assert provider.token_forms == []


async def test_an_id_token_with_another_nonce_is_refused(site: Site, provider: Provider) -> None:
    """An ID token whose nonce is not the one sent is refused (nonce_mismatch)."""
    query = await authorize(site, provider)
    provider.nonce = "replayed-nonce"
    response = await come_back(site, state=query["state"], code="abc")
    assert refusal(response) == "nonce_mismatch"
    after = await site.client.get("/")
    assert after.headers["location"] == "/sign-in"  # not signed in


async def test_an_id_token_signed_by_another_key_is_refused(site: Site, provider: Provider) -> None:
    """An ID token not signed by the provider's published key is refused."""
    provider.published = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    query = await authorize(site, provider)
    response = await come_back(site, state=query["state"], code="abc")
    assert refusal(response) == "id_token_signature"


async def test_an_id_token_for_another_client_is_refused(site: Site, provider: Provider) -> None:
    """An ID token whose audience is another client is refused."""
    query = await authorize(site, provider)
    real = provider.id_token
    provider.id_token = lambda **changes: real(aud="another-client", **changes)  # type: ignore[method-assign]
    response = await come_back(site, state=query["state"], code="abc")
    assert refusal(response) == "id_token_invalid"


async def test_the_providers_error_is_refused_without_a_token_request(
    site: Site, provider: Provider
) -> None:
    """The provider answering with an error (the resident cancelled) is refused."""
    query = await authorize(site, provider)
    response = await come_back(site, state=query["state"], error="access_denied")
    assert refusal(response) == "provider_error"
    assert provider.token_forms == []


async def test_with_a_private_key_the_client_authenticates_with_a_signed_assertion(
    provider: Provider, seeded: str, tmp_path: Path
) -> None:
    """private_key_jwt (GOV.UK One Login's way): a JWT for the token endpoint, signed by our key."""
    ours = RSAKey.generate_key(2048)
    key_file = tmp_path / "client.pem"
    key_file.write_bytes(ours.as_pem(private=True))
    async for site in one_login_site(
        provider, seeded, tmp_path, portal_oidc_private_key_file=key_file
    ):
        query = await authorize(site, provider)
        response = await come_back(site, state=query["state"], code="abc")
        assert response.status_code == 303
    [form] = provider.token_forms
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert "client_secret" not in form
    assertion = jwt.decode(form["client_assertion"], ours)
    assert assertion.claims["iss"] == assertion.claims["sub"] == CLIENT
    assert assertion.claims["aud"] == f"{ISSUER}/token"


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
