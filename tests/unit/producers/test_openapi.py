"""The gateway's checked-in OpenAPI document matches what the app generates (drift test)."""

from __future__ import annotations

import json

from producers.gateway.openapi import OPENAPI_PATH, openapi_document, render


def test_the_checked_in_openapi_document_is_current() -> None:
    """Regenerate the document and compare; on failure run `rps gateway openapi --write`."""
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(), (
        "producers/gateway/openapi.json drifted: run `rps gateway openapi --write`"
    )


def test_the_document_describes_every_route_and_the_bearer_key() -> None:
    """Publish, batch, retract, health and the pull feed are described; publishing needs the
    publisher's bearer key, the feed the authority's feed key."""
    document = openapi_document()
    assert set(document["paths"]) == {
        "/v1/events",
        "/v1/events/batch",
        "/v1/retractions",
        "/health",
        "/v1/deliveries",
        "/v1/acknowledgements",
    }
    publish = document["paths"]["/v1/events"]["post"]
    assert publish["security"] == [{"HTTPBearer": []}]
    assert {"202", "401", "403", "413", "422", "503"} <= set(publish["responses"])
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, method in (("/v1/deliveries", "get"), ("/v1/acknowledgements", "post")):
        assert document["paths"][path][method]["security"] == [{"FeedKey": []}]


def test_the_document_is_stable_json() -> None:
    """Two renders are byte-identical and parse back to the same document."""
    first, second = render(), render()
    assert first == second
    assert json.loads(first) == openapi_document()
