"""The contracts other languages use, generated from the models and checked in.

``json-schema/<type>.json`` is one JSON Schema (2020-12) per event type;
``asyncapi.json`` one AsyncAPI 3.0 document describing every topic, its key, its
messages and which side sends them. ``generate`` renders them (sorted keys, two
spaces, a trailing newline, so the output is byte-for-byte stable); ``write``
puts them on disk; ``check`` names the files that drifted from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from schemas.contracts._asyncapi import asyncapi_document
from schemas.events import MODELS

CONTRACTS_DIR: Final = Path(__file__).resolve().parent
"""Where the checked-in contracts live: ``schemas/contracts/``."""

JSON_SCHEMA_DIR: Final = "json-schema"
ASYNCAPI_FILE: Final = "asyncapi.json"
SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def schema_id(event_type: str) -> str:
    """The ``$id`` of an event type's JSON Schema."""
    return f"urn:uk-gov-rps:schema:{event_type}"


def json_schema(event_type: str) -> dict[str, Any]:
    """The standalone JSON Schema of one event type."""
    schema = MODELS[event_type].model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, "$id": schema_id(event_type), **schema, "title": event_type}


def generate() -> dict[str, str]:
    """Every contract file, by path relative to the contracts directory, rendered."""
    files = {
        f"{JSON_SCHEMA_DIR}/{event_type}.json": _render(json_schema(event_type))
        for event_type in MODELS
    }
    files[ASYNCAPI_FILE] = _render(asyncapi_document())
    return dict(sorted(files.items()))


def write(root: Path = CONTRACTS_DIR) -> list[str]:
    """Write every contract under ``root``, removing stale schemas; the paths that changed."""
    drifted = check(root)
    files = generate()
    for relative in drifted:
        target = root / relative
        if relative in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[relative], encoding="utf-8")
        else:
            target.unlink()
    return drifted


def check(root: Path = CONTRACTS_DIR) -> list[str]:
    """The paths under ``root`` that differ from the models' output: missing, changed, stale."""
    files = generate()
    drifted = [
        relative
        for relative, text in files.items()
        if not (root / relative).is_file() or (root / relative).read_text(encoding="utf-8") != text
    ]
    schema_dir = root / JSON_SCHEMA_DIR
    if schema_dir.is_dir():
        stale = (
            f"{JSON_SCHEMA_DIR}/{path.name}"
            for path in schema_dir.glob("*.json")
            if f"{JSON_SCHEMA_DIR}/{path.name}" not in files
        )
        drifted.extend(stale)
    return sorted(drifted)


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
