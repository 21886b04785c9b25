"""The development sign-in: offered only outside production, on loopback, and without OIDC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portal import dev_sign_in_offered, dev_sign_in_refusal
from rps.settings import Settings
from tests.unit.portal.conftest import ALICE, portal_settings, site_for

ISSUER = "https://oidc.example.test"


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"portal_host": "localhost"}, None),
        ({"portal_host": "::1"}, None),
        ({"portal_host": "127.0.0.2"}, None),
        ({"portal_development_sign_in": True}, None),
        ({"environment": "production"}, "production"),
        ({"portal_development_sign_in": False}, "switched_off"),
        ({"portal_host": "0.0.0.0"}, "not_loopback"),
        ({"portal_host": "::"}, "not_loopback"),
        ({"portal_host": "192.0.2.10"}, "not_loopback"),
        ({"portal_host": "portal.example.gov.uk"}, "not_loopback"),
        ({"portal_host": "0.0.0.0", "portal_development_sign_in": True}, "not_loopback"),
        ({"portal_oidc_issuer": ISSUER}, "oidc_configured"),
        ({"portal_oidc_client_id": "rps-portal"}, "oidc_configured"),
        (
            {"portal_oidc_issuer": ISSUER, "portal_oidc_client_id": "rps-portal"},
            "oidc_configured",
        ),
        (
            {
                "portal_oidc_issuer": ISSUER,
                "portal_oidc_client_id": "rps-portal",
                "portal_development_sign_in": True,
            },
            "oidc_configured",
        ),
    ],
)
def test_the_development_sign_in_rule(changes: dict[str, Any], refusal: str | None) -> None:
    """Each setting that must switch the development sign-in off does, with its reason."""
    settings = Settings(**changes)
    assert dev_sign_in_refusal(settings) == refusal
    assert dev_sign_in_offered(settings) is (refusal is None)


def test_the_reported_case_oidc_and_every_interface_without_an_environment_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RPS_ENVIRONMENT unset, OIDC configured, RPS_PORTAL_HOST=0.0.0.0: no development sign-in."""
    monkeypatch.delenv("RPS_ENVIRONMENT", raising=False)
    monkeypatch.setenv("RPS_PORTAL_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("RPS_PORTAL_OIDC_CLIENT_ID", "rps-portal")
    monkeypatch.setenv("RPS_PORTAL_HOST", "0.0.0.0")
    assert not dev_sign_in_offered(Settings())


@pytest.mark.parametrize(
    "changes",
    [
        {"portal_host": "0.0.0.0"},
        {"portal_oidc_issuer": ISSUER, "portal_oidc_client_id": "rps-portal"},
        {"environment": "production"},
    ],
)
async def test_where_it_is_not_offered_it_is_neither_shown_nor_accepted(
    seeded: str, tmp_path: Path, changes: dict[str, Any]
) -> None:
    """Off loopback, with OIDC or in production: no form on the page, and its POST answers 404."""
    async for site in site_for(portal_settings(tmp_path, **changes), seeded):
        page = await site.client.get("/sign-in")
        assert "development sign-in" not in page.text.lower()
        response = await site.client.post(
            "/sign-in/development", data={"csrf_token": "any", "resident": ALICE}
        )
        assert response.status_code == 404
        after = await site.client.get(f"/residents/{ALICE}/your-details")
        assert after.status_code == 303  # still not signed in
