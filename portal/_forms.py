"""What the resident's forms share: the request id that becomes the event id, and phone numbers.

A form carries a request id made when it is shown; it becomes the event id, so
submitting the same form twice publishes one event (consumers apply by event id).
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from starlette.datastructures import FormData

from schemas.ids import UUID_PATTERN

_REQUEST_ID: Final = re.compile(UUID_PATTERN)


def new_request_id() -> str:
    """A request id for a form about to be shown."""
    return str(uuid.uuid4())


def request_id(form: FormData) -> str:
    """The form's request id, or a new one when it carries none (or a malformed one)."""
    given = str(form.get("request_id", ""))
    return given if _REQUEST_ID.match(given) else new_request_id()


def normalise_phone(text: str) -> str:
    """UK phone numbers as typed (07700 900123, +44 7700 900123) in E.164 (+447700900123)."""
    digits = re.sub(r"[\s().-]", "", text)
    if digits.startswith("0044"):
        digits = "+44" + digits[4:]
    elif digits.startswith("0"):
        digits = "+44" + digits[1:]
    return digits
