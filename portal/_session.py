"""The session: who is signed in, the CSRF token, and the guard that keeps residents apart.

The session lives in a signed cookie (starlette's ``SessionMiddleware``:
``HttpOnly``, ``SameSite=Lax``, ``Secure`` unless the settings say otherwise).
Every POST form carries the session's CSRF token and is refused without it.
A resident may open only pages under their own id.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Final

from fastapi import Request

from schemas.ids import UUID_PATTERN

RESIDENT_ID: Final = re.compile(UUID_PATTERN)
NAMESPACE: Final = uuid.UUID("8a7f6c1e-3d2b-5e4f-9a1b-2c3d4e5f6a7b")


class NotSignedIn(Exception):
    """No resident is signed in: send them to the sign-in page."""


class Forbidden(Exception):
    """The request may not do this: another resident's page, or a missing CSRF token."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    """Refuse a POST whose form token is not the session's."""
    expected = request.session.get("csrf")
    if (
        not isinstance(expected, str)
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise Forbidden("csrf_token")


def sign_in(request: Request, resident: str, via: str) -> None:
    """Start a fresh session for ``resident`` (a new CSRF token: no session fixation)."""
    request.session.clear()
    request.session["resident"] = resident
    request.session["via"] = via
    request.session["csrf"] = secrets.token_urlsafe(32)


def signed_in(request: Request) -> str | None:
    resident = request.session.get("resident")
    return resident if isinstance(resident, str) else None


def own_resident(request: Request, resident: str) -> str:
    """``resident`` when it is the signed-in resident; otherwise refuse."""
    me = signed_in(request)
    if me is None:
        raise NotSignedIn()
    if not hmac.compare_digest(me.encode(), resident.encode()):
        raise Forbidden("other_resident")
    return me


def load_resident_map(path: Path | None) -> dict[str, str]:
    """The hand-made links from an OIDC ``sub`` to a hub resident id (a JSON object)."""
    if path is None:
        return {}
    mapping = json.loads(path.read_text())
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and RESIDENT_ID.match(v)
        for k, v in mapping.items()
    ):
        raise ValueError("portal_resident_map must map each sub to a resident id (a UUID)")
    return mapping


def resident_for(issuer: str, subject: str, mapping: dict[str, str]) -> str:
    """The hub resident id for an OIDC subject: a linked id, else one derived from issuer and sub.

    The derived id is a name-based UUID (version 5) of ``issuer|sub``: stable for
    the same person at the same provider, and carrying no national identifier.
    """
    linked = mapping.get(subject)
    if linked is not None:
        return linked
    return str(uuid.uuid5(NAMESPACE, f"{issuer}|{subject}"))
