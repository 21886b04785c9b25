"""The session: who is signed in, the CSRF token, and the guard that keeps residents apart.

The cookie is starlette's ``SessionMiddleware`` cookie (signed, ``HttpOnly``,
``SameSite=Lax``, ``Secure`` unless the settings say otherwise). It carries a
session token, whose sign-in lives server-side in :mod:`portal._session_store`
(sign-out ends it for every copy of the cookie), and the session's CSRF token
(the synchronizer-token pattern: every POST form carries it and is refused
without it). A resident may open only pages under their own id.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from portal._portal import portal_of
from portal._session_store import SignedIn

TOKEN = "session"
CSRF = "csrf"
_UNKNOWN = object()


class NotSignedIn(Exception):
    """No resident is signed in (or the session has ended): send them to the sign-in page."""


class Forbidden(Exception):
    """The request may not do this: another resident's page, or a missing CSRF token."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    """Refuse a POST whose form token is not the session's."""
    expected = request.session.get(CSRF)
    if (
        not isinstance(expected, str)
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise Forbidden("csrf_token")


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token is the session's."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    return form


async def signed_in(request: Request) -> SignedIn | None:
    """Who is signed in: the live server-side session the cookie names, or ``None``.

    Looked up once per request and kept on ``request.state`` for the page layout.
    """
    known = getattr(request.state, "signed_in", _UNKNOWN)
    if known is None or isinstance(known, SignedIn):
        return known
    portal = portal_of(request)
    token = request.session.get(TOKEN)
    found = await portal.sessions.find(token, portal.clock()) if isinstance(token, str) else None
    if found is None and token is not None:
        request.session.pop(TOKEN, None)  # ended or too old: the cookie forgets it too
    request.state.signed_in = found
    return found


async def own_resident(resident: str, me: Annotated[SignedIn | None, Depends(signed_in)]) -> str:
    """``resident`` (the path's) when it is the signed-in resident; otherwise refuse."""
    if me is None:
        raise NotSignedIn()
    if not hmac.compare_digest(me.resident.encode(), resident.encode()):
        raise Forbidden("other_resident")
    return me.resident


Me = Annotated[str, Depends(own_resident)]
"""A route parameter: the path's resident, checked to be the one signed in."""

CheckedForm = Annotated[FormData, Depends(checked_form)]
"""A route parameter: the POSTed form, its CSRF token checked."""


async def sign_in(request: Request, resident: str, via: str) -> None:
    """Start a fresh session for ``resident``: a new token and CSRF token (no fixation)."""
    await sign_out(request)
    portal = portal_of(request)
    token = await portal.sessions.start(resident, via, portal.clock())
    request.session[TOKEN] = token
    request.session[CSRF] = secrets.token_urlsafe(32)
    request.state.signed_in = SignedIn(resident, via)


async def sign_out(request: Request) -> None:
    """End the session server-side (every copy of the cookie with it) and empty the cookie."""
    token = request.session.get(TOKEN)
    if isinstance(token, str):
        await portal_of(request).sessions.end(token)
    request.session.clear()
    request.state.signed_in = None
