"""Events and documents the publishing tests share: valid by default, broken on request."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import structlog

from rps.logs import configure

SOURCE = "urn:gss:E08000012"
OTHER_SOURCE = "urn:gss:E08000015"
RESIDENT = "3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
PLANTED = "planted.value@example.com"
"""A value that must never appear in a log line, a problem document or an error message."""

VERIFIED = "uk.gov.rps.attribute.verified.v1"
EARLIER = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(microsecond=0)


def stamp(moment: dt.datetime = EARLIER) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudevent(
    *,
    event_id: str | None = None,
    source: str = SOURCE,
    resident: str = RESIDENT,
    attribute: str = "email",
    value: Any = "resident@example.com",
    **changes: Any,
) -> dict[str, Any]:
    """A valid attribute.verified CloudEvent document; ``changes`` override envelope keys."""
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id or f"test-{uuid.uuid4()}",
        "source": source,
        "type": VERIFIED,
        "subject": resident,
        "time": stamp(),
        "datacontenttype": "application/json",
        "data": {
            "attribute": attribute,
            "value": value,
            "assurance": "low",
            "method": "self_asserted",
            "verified_at": stamp(),
        },
    }
    document.update(changes)
    return document


def simple(**changes: Any) -> dict[str, Any]:
    """A valid simple-form verified attribute; ``changes`` override or add keys."""
    document: dict[str, Any] = {
        "resident": RESIDENT,
        "attribute": "phone",
        "value": "+447700900123",
        "assurance": "low",
        "method": "sms_one_time_code",
        "verified_at": stamp(),
    }
    document.update(changes)
    return document


def address(postcode: str = "L1 8JQ") -> dict[str, Any]:
    return {
        "uprn": "38012345678",
        "lines": ["1 Example Street"],
        "town": "Liverpool",
        "postcode": postcode,
        "local_authority": "E08000012",
    }


def line(document: Any) -> bytes:
    return orjson.dumps(document)


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Log to the live stderr, whatever an earlier test left configured; restore afterwards.

    A test that runs the CLI through typer's CliRunner leaves structlog writing
    to the runner's stream, which is closed once that test ends.
    """
    saved = structlog.get_config()
    configure("console", "info")
    yield
    structlog.configure(**saved)
