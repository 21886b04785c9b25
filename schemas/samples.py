"""The example events shipped under ``schemas/examples/`` (one JSON-lines file per type).

They are realistic (Liverpool E08000012, Wirral E08000015, DWP, DVLA, the
General Register Office) but fictitious, and are used by the tests, the
contracts and the demo. ``invalid/broken.jsonl`` holds one broken event per
common mistake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from schemas.types import short_name

EXAMPLES_DIR: Final = Path(__file__).resolve().parent / "examples"
BROKEN_EXAMPLES: Final = EXAMPLES_DIR / "invalid" / "broken.jsonl"


def example_path(event_type: str) -> Path:
    """The examples file of one event type: ``examples/attribute.verified.v1.jsonl``."""
    return EXAMPLES_DIR / f"{short_name(event_type)}.jsonl"


def example_lines(event_type: str) -> list[bytes]:
    """The example events of one type, each as the bytes of one structured-mode message."""
    with example_path(event_type).open("rb") as lines:
        return [line.rstrip(b"\r\n") for line in lines if line.strip()]
