"""The portal's pages over a real SQLite read model: what residents see, and what they may do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from consumers._database import create_engine
from consumers.readmodel._facts import AckSeen, AuditSeen
from consumers.readmodel._store import ReadModelStore
from schemas import AttributeVerified, ConsentGranted, ConsentWithdrawn
from tests.unit.portal.conftest import (
    ALICE,
    ALICE_EMAIL,
    BOB,
    BOB_EMAIL,
    DWP,
    WIRRAL,
    Site,
    portal_settings,
    site_for,
    token,
)


async def test_signing_in_leads_to_your_details_with_value_verifier_level_and_time(
    site: Site,
) -> None:
    """After the development sign-in the resident sees each attribute with its provenance."""
    signed = await site.sign_in()
    assert signed.status_code == 303
    page = await site.client.get(signed.headers["location"])
    assert page.status_code == 200
    assert "<h1" in page.text
    assert page.text.count("<h1") == 1
    assert ALICE_EMAIL in page.text
    assert "+447700900982" in page.text
    assert "Liverpool City Council" in page.text  # who verified the phone
    assert "Medium" in page.text
    assert "Low" in page.text
    assert "2 June 2026 at 3:05pm" in page.text
    assert "Development sign-in" in page.text
    assert BOB_EMAIL not in page.text


async def test_another_residents_page_is_refused_and_shows_none_of_their_details(
    site: Site,
) -> None:
    """A signed-in resident asking for another resident's pages gets 403 and no value of theirs."""
    await site.sign_in(ALICE)
    for path in ("your-details", "who-has-your-details", "share", "update"):
        response = await site.client.get(f"/residents/{BOB}/{path}")
        assert response.status_code == 403, path
        assert BOB_EMAIL not in response.text
    page = await site.client.get(f"/residents/{ALICE}/update")
    refused = await site.client.post(
        f"/residents/{BOB}/update",
        data={"csrf_token": token(page.text), "attribute": "email", "email": "x@example.org"},
    )
    assert refused.status_code == 403
    assert site.published.events == []


async def test_pages_need_a_signed_in_resident(site: Site) -> None:
    """Without a session every resident page redirects to the sign-in page."""
    response = await site.client.get(f"/residents/{ALICE}/your-details")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


async def test_a_post_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    """Every form POST without the session's CSRF token is refused and publishes nothing."""
    await site.sign_in()
    for path, data in (
        ("update", {"attribute": "email", "email": "new@example.org"}),
        (
            "share/confirm",
            {
                "authority": DWP,
                "attributes": "email",
                "purpose": "benefits",
                "local_reference": "DWP-1",
            },
        ),
        ("stop-sharing", {"authority": WIRRAL}),
    ):
        for bad in ({}, {"csrf_token": "forged"}):
            response = await site.client.post(f"/residents/{ALICE}/{path}", data={**data, **bad})
            assert response.status_code == 403, path
    signed_out = await site.client.post("/sign-out", data={"csrf_token": "forged"})
    assert signed_out.status_code == 403
    assert site.published.events == []


async def test_the_session_cookie_is_secure_http_only_and_same_site_lax(site: Site) -> None:
    """The session cookie carries Secure, HttpOnly and SameSite=Lax."""
    response = await site.client.get("/sign-in")
    cookie = response.headers["set-cookie"].lower()
    assert "rps_portal_session=" in cookie
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_who_has_your_details_shows_sent_confirmed_and_withheld_with_reason(
    site: Site,
) -> None:
    """Per authority: what was sent and confirmed, what was withheld and why, and a way to stop."""
    await site.sign_in()
    page = await site.client.get(f"/residents/{ALICE}/who-has-your-details")
    assert page.status_code == 200
    assert "Wirral Council" in page.text
    assert 'data-outcome="sent"' in page.text
    assert 'data-confirmed="yes"' in page.text
    assert "It was not checked thoroughly enough for them" in page.text
    assert f"stop-sharing?authority={WIRRAL}" in page.text
    assert ALICE_EMAIL not in page.text  # who has what, never the values again


async def test_share_preview_shows_exactly_what_each_authority_would_get(site: Site) -> None:
    """The preview shows the value an authority's level admits, or says why nothing is sent."""
    await site.sign_in()
    form = await site.client.get(f"/residents/{ALICE}/share")
    csrf = token(form.text)
    dwp = await site.client.post(
        f"/residents/{ALICE}/share/preview",
        data={
            "csrf_token": csrf,
            "authority": DWP,
            "attributes": ["email", "phone"],
            "purpose": "benefits",
            "local_reference": "DWP-77",
        },
    )
    assert dwp.status_code == 200
    assert ALICE_EMAIL in dwp.text  # DWP takes email at low
    assert "They do not ask for this" in dwp.text  # DWP does not take the phone
    wirral = await site.client.post(
        f"/residents/{ALICE}/share/preview",
        data={
            "csrf_token": csrf,
            "authority": WIRRAL,
            "attributes": ["email"],
            "purpose": "council_tax",
            "local_reference": "WIR-CT-1",
        },
    )
    assert ALICE_EMAIL not in wirral.text  # Wirral wants medium; the email is low
    assert "medium assurance or higher" in wirral.text
    assert site.published.events == []


async def test_confirming_a_share_publishes_one_consent_grant_from_the_resident_app(
    site: Site,
) -> None:
    """Confirm publishes consent.granted with the chosen authority, details, purpose, reference."""
    await site.sign_in()
    form = await site.client.get(f"/residents/{ALICE}/share")
    fields = {
        "csrf_token": token(form.text),
        "authority": DWP,
        "attributes": ["email"],
        "purpose": "benefits",
        "local_reference": "DWP-77",
    }
    preview = await site.client.post(f"/residents/{ALICE}/share/preview", data=fields)
    request_id = preview.text.split('name="request_id" value="')[1].split('"')[0]
    done = await site.client.post(
        f"/residents/{ALICE}/share/confirm", data={**fields, "request_id": request_id}
    )
    assert done.status_code == 200
    assert "You are now sharing with Department for Work and Pensions" in done.text
    [event] = site.published.events
    assert isinstance(event, ConsentGranted)
    assert event.id == request_id
    assert event.subject == ALICE
    assert event.source == "urn:org:resident-app"
    assert event.data.authority == DWP
    assert [str(a) for a in event.data.attributes] == ["email"]
    assert event.data.local_reference == "DWP-77"
    assert event.data.purpose == "benefits"


async def test_a_share_form_with_mistakes_names_each_field(site: Site) -> None:
    """A share without authority, details or a valid reference is answered 400 with each error."""
    await site.sign_in()
    form = await site.client.get(f"/residents/{ALICE}/share")
    response = await site.client.post(
        f"/residents/{ALICE}/share/preview",
        data={"csrf_token": token(form.text), "local_reference": "not valid!"},
    )
    assert response.status_code == 400
    assert "There is a problem" in response.text
    for field in ("authority", "attributes", "purpose", "local_reference"):
        assert f'href="#{field}"' in response.text
    assert site.published.events == []


async def test_stopping_sharing_asks_first_then_publishes_a_withdrawal_of_everything(
    site: Site,
) -> None:
    """Stop sharing shows a confirmation, then publishes consent.withdrawn for all details."""
    await site.sign_in()
    ask = await site.client.get(f"/residents/{ALICE}/stop-sharing", params={"authority": WIRRAL})
    assert ask.status_code == 200
    assert "Are you sure you want to stop sharing with Wirral Council?" in ask.text
    assert site.published.events == []
    done = await site.client.post(
        f"/residents/{ALICE}/stop-sharing",
        data={"csrf_token": token(ask.text), "authority": WIRRAL},
    )
    assert done.status_code == 200
    [event] = site.published.events
    assert isinstance(event, ConsentWithdrawn)
    assert event.data.authority == WIRRAL
    assert event.data.attributes == "all"


async def test_updating_the_phone_publishes_a_low_assurance_own_claim_in_e164(site: Site) -> None:
    """A phone typed as 07700 900 123 is published once as +447700900123, low, self-asserted."""
    await site.sign_in()
    form = await site.client.get(f"/residents/{ALICE}/update")
    fields = {
        "csrf_token": token(form.text),
        "attribute": "phone",
        "phone": "07700 900 123",
        "request_id": form.text.split('name="request_id" value="')[1].split('"')[0],
    }
    first = await site.client.post(f"/residents/{ALICE}/update", data=fields)
    again = await site.client.post(f"/residents/{ALICE}/update", data=fields)
    assert first.status_code == again.status_code == 200
    events = site.published.events
    assert {e.id for e in events} == {fields["request_id"]}  # a resubmission is the same event
    event = events[0]
    assert isinstance(event, AttributeVerified)
    assert event.data.value == "+447700900123"
    assert event.data.assurance == "low"
    assert event.data.method == "self_asserted"


async def test_a_malformed_email_is_refused_with_the_govuk_message(site: Site) -> None:
    """An email that breaks the rule is answered 400 naming the field; nothing is published."""
    await site.sign_in()
    form = await site.client.get(f"/residents/{ALICE}/update")
    response = await site.client.post(
        f"/residents/{ALICE}/update",
        data={"csrf_token": token(form.text), "attribute": "email", "email": "not-an-email"},
    )
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in response.text
    assert 'href="#email"' in response.text
    assert site.published.events == []


async def test_a_non_browser_gets_a_problem_document(site: Site) -> None:
    """A refused request that does not accept HTML is answered with RFC 9457 JSON."""
    response = await site.client.post(
        "/sign-out", data={"csrf_token": "x"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:rps:portal:csrf_token"


async def test_the_development_sign_in_is_absent_in_production(seeded: str, tmp_path: Path) -> None:
    """With production settings the development sign-in is neither offered nor accepted."""
    settings = portal_settings(tmp_path, environment="production")
    async for site in site_for(settings, seeded):
        page = await site.client.get("/sign-in")
        assert "development sign-in" not in page.text.lower()
        response = await site.client.post(
            "/sign-in/development", data={"csrf_token": "any", "resident": ALICE}
        )
        assert response.status_code == 404
        after = await site.client.get(f"/residents/{ALICE}/your-details")
        assert after.status_code == 303  # still not signed in


def test_production_settings_refuse_to_enable_the_development_sign_in(tmp_path: Path) -> None:
    """Settings with environment=production and the development sign-in on do not validate."""
    with pytest.raises(ValueError, match="portal_development_sign_in"):
        portal_settings(tmp_path, environment="production", portal_development_sign_in=True)


async def test_a_delivery_the_authority_could_not_match_says_so(seeded: str, site: Site) -> None:
    """A delivery Wirral acknowledged as a conflict (its reference is bound to another resident)
    tells the resident their reference with Wirral could not be matched, not that it was used."""
    now = dt.datetime.now(dt.UTC)
    decision = "00000000-0000-4000-8000-0000000000d1"
    store = ReadModelStore(create_engine(seeded))
    await store.write(
        [
            AuditSeen(
                "00000000-0000-4000-8000-0000000000a1",
                ALICE,
                now - dt.timedelta(hours=1),
                "delivered",
                None,
                "00000000-0000-4000-8000-0000000000c1",
                "uk.gov.rps.attribute.verified.v1",
                "urn:org:resident-app",
                "email",
                WIRRAL,
                "00000000-0000-4000-8000-0000000000c1",
                "medium",
                decision,
                2,
                "audit",
                0,
                3,
            ),
            AckSeen(
                "00000000-0000-4000-8000-0000000000e1",
                WIRRAL,
                decision,
                "WIR-CT-1",
                now,
                "conflict",
            ),
        ],
        {},
    )
    await store.close()
    await site.sign_in()
    page = await site.client.get(f"/residents/{ALICE}/who-has-your-details")
    assert page.status_code == 200
    assert "your reference with Wirral Council could not be matched" in page.text
