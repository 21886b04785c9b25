"""The AsyncAPI document validates with the official AsyncAPI parser (npm @asyncapi/parser),
run by node from clients/asyncapi-check/."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.contracts import ASYNCAPI_FILE, CONTRACTS_DIR
from tests.integration.clients.conftest import CLIENTS, run

CHECK = CLIENTS / "asyncapi-check" / "check.mjs"


async def test_the_asyncapi_document_validates_with_the_official_parser(
    clients_built: None,
) -> None:
    """The checked-in document parses with no error diagnostic."""
    code, out, err = await run("node", str(CHECK), str(CONTRACTS_DIR / ASYNCAPI_FILE))
    assert code == 0, out + err
    assert "valid AsyncAPI 3.0.0" in out


async def test_the_parser_check_fails_on_a_broken_document(
    clients_built: None, tmp_path: Path
) -> None:
    """The check has teeth: an unknown security scheme type and a message reference to
    nowhere are errors, and the check exits 1."""
    document = json.loads((CONTRACTS_DIR / ASYNCAPI_FILE).read_text("utf-8"))
    document["components"]["securitySchemes"]["saslPlain"]["type"] = "sasl"
    document["channels"]["subscriptions"]["messages"]["subscriptionChanged"]["$ref"] = (
        "#/components/messages/nowhere"
    )
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(document))
    code, out, err = await run("node", str(CHECK), str(broken))
    assert code == 1, out + err
    assert "error" in out
