"""RFC 9457 problem documents: the one shape every gateway error takes.

Each problem names its ``type`` (a URI reference, listed in
``docs/publishing.md``), a ``title``, the HTTP ``status`` and a ``detail``; an
invalid event adds ``errors``, one entry per field and rule broken (with the
event's ``index`` in a batch), at most :data:`schemas.MAX_LISTED` of them, and
``more_errors``, how many more there were. Nothing in a problem repeats a
value the caller sent, nor a field name the contracts do not define, so a
problem can never leak personal data, and it stays small whatever was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fastapi.responses import JSONResponse

from schemas import MAX_LISTED, FieldError, listed

MEDIA_TYPE: Final = "application/problem+json"
BASE: Final = "/problems/"

Located = tuple[int | None, FieldError]
"""A field error and the batch index of the event it belongs to (``None`` outside a batch)."""


class ProblemResponse(JSONResponse):
    """A JSON response served as ``application/problem+json``."""

    media_type = MEDIA_TYPE


class Problem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: tuple[Located, ...] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})

    def with_errors(self, errors: tuple[Located, ...]) -> Problem:
        """The same problem listing ``errors`` instead."""
        return Problem(
            self.status, self.slug, self.title, self.detail, errors=errors, headers=self.headers
        )

    def response(self) -> ProblemResponse:
        body: dict[str, object] = {
            "type": BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            shown, more = listed(self.errors)
            body["errors"] = [_error(index, error) for index, error in shown]
            if more:
                body["more_errors"] = more
        return ProblemResponse(body, status_code=self.status, headers=self.headers)


def _error(index: int | None, error: FieldError) -> dict[str, object]:
    entry: dict[str, object] = {"field": error.field, "rule": error.rule, "detail": error.message}
    if index is not None:
        entry["index"] = index
    return entry


PROBLEM_SCHEMA: Final[dict[str, object]] = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "maxItems": MAX_LISTED,
            "description": f"the first {MAX_LISTED} errors; `more_errors` counts the rest",
            "items": {
                "type": "object",
                "required": ["field", "rule", "detail"],
                "properties": {
                    "field": {"type": "string", "description": "dotted path of the field"},
                    "rule": {"type": "string", "description": "the rule the field broke"},
                    "detail": {"type": "string"},
                    "index": {
                        "type": "integer",
                        "description": "position of the event in a batch",
                    },
                },
            },
        },
        "more_errors": {
            "type": "integer",
            "minimum": 1,
            "description": "how many errors there were beyond those listed in `errors`",
        },
    },
}
