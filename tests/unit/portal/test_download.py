"""The portal's "Download your data": the signed-in resident's own copy, nobody else's."""

from __future__ import annotations

import json

from tests.unit.portal.conftest import ALICE, ALICE_EMAIL, BOB, BOB_EMAIL, WIRRAL, Site


async def test_the_download_holds_every_value_consent_and_decision_of_the_resident(
    site: Site,
) -> None:
    """Alice's download has her values with provenance, her consent, the delivery to Wirral with
    its acknowledgement and the withholding with its reason; nothing of Bob's."""
    await site.sign_in(ALICE)
    page = await site.client.get(f"/residents/{ALICE}/your-details")
    assert f"/residents/{ALICE}/download-your-data" in page.text
    response = await site.client.get(f"/residents/{ALICE}/download-your-data")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    document = json.loads(response.text)
    assert document["resident"] == ALICE
    values = {c["attribute"]: c for c in document["claims"]}
    assert values["email"]["value"] == ALICE_EMAIL
    assert values["phone"]["assurance"] == "medium"
    assert values["phone"]["reported_by"] == "urn:gss:E08000012"
    assert [c["authority"] for c in document["consents"]] == [WIRRAL]
    sent = {(d["decision"], d["attribute"]): d for d in document["sent"]}
    assert sent[("delivered", "phone")]["acknowledged_at"] is not None
    assert sent[("withheld", "email")]["reason"] == "below_minimum_assurance"
    assert document["erasures"] == []
    assert BOB not in response.text
    assert BOB_EMAIL not in response.text


async def test_another_residents_download_is_refused(site: Site) -> None:
    """A resident cannot download another resident's data (403, none of it shown)."""
    await site.sign_in(ALICE)
    response = await site.client.get(f"/residents/{BOB}/download-your-data")
    assert response.status_code == 403
    assert BOB_EMAIL not in response.text


async def test_the_download_needs_a_signed_in_resident(site: Site) -> None:
    """Without a session the download is not given."""
    response = await site.client.get(f"/residents/{ALICE}/download-your-data")
    assert response.status_code in (303, 401)
    assert ALICE_EMAIL not in response.text
