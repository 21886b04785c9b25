"""What every gateway route depends on: the wiring, the caller's credential, the JSON body.

The credential comes from ``Authorization: Bearer <key>`` (401 otherwise); the
body is read no further than ``gateway_max_body_bytes`` (413), must arrive
within ``http_body_timeout_seconds`` (408) and must be JSON (415 for another
media type, 400 when it does not parse).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, Protocol

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from producers.credentials import PublisherCredential
from producers.gateway.problems import Problem
from producers.gateway.trust import Roles
from producers.publisher import Publisher
from rps.logs import get_logger
from rps.settings import Settings

_log = get_logger("producers.gateway")

JSON_TYPES: Final = (
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
)


class Authenticator(Protocol):
    """Finds the active credential an API key belongs to."""

    async def authenticate(self, key: str) -> PublisherCredential | None: ...


def utcnow() -> dt.datetime:
    """The current UTC time: the gateway's clock unless a test brings its own."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the routes need, built once by the process that serves them."""

    settings: Settings
    publisher: Publisher
    authenticator: Authenticator
    clock: Callable[[], dt.datetime] = utcnow
    roles: Roles | None = None  # None: no registry check (a gateway without its signing key)


_bearer = HTTPBearer(auto_error=False, description="The publisher's API key.")


async def current_wiring(request: Request) -> Wiring:
    """The wiring the app was built with."""
    found: Wiring = request.app.state.wiring
    return found


Wired = Annotated[Wiring, Depends(current_wiring)]


async def caller(
    wiring: Wired,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> PublisherCredential:
    """The credential of the API key in ``Authorization: Bearer``, or 401."""
    credential = None
    if authorization is not None and authorization.scheme.lower() == "bearer":
        credential = await wiring.authenticator.authenticate(authorization.credentials)
    if credential is None:
        _log.info("refused", reason="unauthenticated", status=401)
        raise Problem(
            401,
            "unauthenticated",
            "Unknown or revoked API key",
            "send a valid, unrevoked API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credential


Caller = Annotated[PublisherCredential, Depends(caller)]


async def body(request: Request, wiring: Wired) -> Any:
    """The request body parsed as JSON, read no further than the size limit."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media.lower() not in JSON_TYPES:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send JSON: application/json or application/cloudevents+json",
        )
    limit = wiring.settings.gateway_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    seconds = wiring.settings.http_body_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise Problem(
            408,
            "body-timeout",
            "Request body too slow",
            f"the whole body must arrive within {seconds:g} seconds",
            headers={"Connection": "close"},
        ) from None
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise Problem(
            400, "not-json", "Body is not JSON", "the request body must be one JSON document"
        ) from None


Body = Annotated[Any, Depends(body)]


def too_large(limit: int) -> Problem:
    """The 413 for a body over ``limit`` bytes."""
    return Problem(
        413, "too-large", "Request body too large", f"the body must be at most {limit} bytes"
    )
