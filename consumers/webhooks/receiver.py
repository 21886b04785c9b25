"""A reference webhook receiver: what an authority's endpoint must do, in a few lines.

It verifies each request with the ``standardwebhooks`` package (a bad or
missing signature is refused: 401), applies each ``webhook-id`` once (a resent
delivery is answered 200 and changes nothing), and hands the CloudEvent to the
authority's code. A ``consent.ended`` delivery means: stop using those
attributes of that resident and delete them per your retention policy. The demo
runs it on loopback; the tests wrap ``answer`` to fail, stall or throttle.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Hook = Callable[[str, int], Awaitable[Response | None]]
"""Called with the webhook-id and how often it came: a response to answer instead, or None."""


@dataclass
class Receiver:
    """An endpoint holding what it applied, in the order it applied it."""

    secret: str
    hook: Hook | None = None
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each webhook-id applied, once, with its CloudEvent, in order of application."""
    tries: dict[str, int] = field(default_factory=dict)
    """How many requests came for each webhook-id (resends included)."""
    refused_signatures: int = 0
    content_types: set[str] = field(default_factory=set)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused_signatures += 1
            return Response(status_code=401)
        webhook_id = request.headers["webhook-id"]
        self.content_types.add(request.headers.get("content-type", ""))
        self.tries[webhook_id] = self.tries.get(webhook_id, 0) + 1
        if self.hook is not None:
            answer = await self.hook(webhook_id, self.tries[webhook_id])
            if answer is not None:
                return answer
        self.applied.setdefault(webhook_id, event)  # a resend changes nothing
        return Response(status_code=200)

    def events(self) -> list[dict[str, Any]]:
        """The CloudEvents applied, in order of application."""
        return list(self.applied.values())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (for a receiver that starts later)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class _Server(uvicorn.Server):
    """uvicorn's server, leaving the process's signals alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(receiver: Receiver, port: int = 0, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``receiver`` on loopback for the block; yields its URL."""
    config = uvicorn.Config(
        receiver.app(),
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the port was taken, say
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}/"
    finally:
        server.should_exit = True
        await task
