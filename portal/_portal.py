"""What the portal's routes need, built once per process, and how a route reaches it.

:class:`Portal` holds the read model, where events go, the subscription
directory, the live sessions and the OpenID provider; ``create_app`` keeps it
on the app, and routes receive it through the :data:`PortalDep` dependency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request

from consumers.readmodel import ReadModel
from portal._oidc import OneLogin
from portal._session_store import SessionStore
from rps.settings import Settings
from schemas import Event
from streams.core import Directory


class EventSink(Protocol):
    """Where the portal's events go: ``producers.Publisher`` in a running portal."""

    async def publish(self, event: Event) -> Any: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Portal:
    """Everything the routes need, built once per process."""

    settings: Settings
    read_model: ReadModel
    sink: EventSink
    directory: Callable[[], Directory]
    sessions: SessionStore
    oidc: OneLogin | None = None
    residents: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = _utcnow


def portal_of(request: Request) -> Portal:
    """The :class:`Portal` the app was built from."""
    portal: Portal = request.app.state.portal
    return portal


PortalDep = Annotated[Portal, Depends(portal_of)]
