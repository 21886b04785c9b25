"""Request metrics for the HTTP processes (the gateway, the portal), as ASGI middleware.

- ``rps_http_requests_total{service,route,status}``: requests answered, by the
  route's template (``/v1/events``, ``/details/{attribute}``; never a path
  with a value in it) and status code;
- ``rps_http_request_duration_seconds{service,route}``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUESTS = Counter(
    "rps_http_requests",
    "HTTP requests answered, by route and status.",
    ["service", "route", "status"],
)
DURATION = Histogram(
    "rps_http_request_duration_seconds", "Time to answer HTTP requests.", ["service", "route"]
)


class RequestMetrics:
    """Counts every HTTP request by its route's template and its status."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self._app = app
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500  # what the server answers when the app raised before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            await self._app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(self._service, route, str(status)).inc()
            DURATION.labels(self._service, route).observe(time.perf_counter() - started)
