"""The gateway's OpenAPI document: generated from the app, checked in, and tested for drift.

``rps gateway openapi --write`` regenerates ``producers/gateway/openapi.json``;
a test regenerates it in memory and fails when the checked-in copy differs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from producers.gateway.app import create_app
from producers.publisher import Publisher
from rps.settings import Settings

OPENAPI_PATH: Final = Path(__file__).with_name("openapi.json")


class _NoKeys:
    """An authenticator that knows no key: enough to describe the routes."""

    async def authenticate(self, key: str) -> None:
        return None


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the gateway (independent of settings and environment)."""
    settings = Settings.model_construct()
    app = create_app(settings, Publisher(settings), _NoKeys())
    return app.openapi()


def render() -> str:
    """The document as it is checked in: two-space indented JSON and a final newline."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def write(path: Path = OPENAPI_PATH) -> bool:
    """Write the document to ``path``; True when the file changed."""
    text = render()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def drifted(path: Path = OPENAPI_PATH) -> bool:
    """Whether the checked-in document differs from what the app generates."""
    return not path.is_file() or path.read_text(encoding="utf-8") != render()
