"""Signing in and out: the start page, GOV.UK One Login, the development sign-in, sign-out.

Sign-in starts a server-side session (a fresh token and CSRF token); sign-out
ends it server-side, so no copy of the cookie outlives it. The development
sign-in is offered only where :func:`portal.dev_sign_in_offered` allows.
"""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from portal._development import dev_sign_in_offered
from portal._oidc import resident_for
from portal._portal import PortalDep
from portal._rendering import error_page, render
from portal._session import checked_form, sign_in, sign_out, signed_in
from portal.errors import SignInRefused
from rps.logs import get_logger
from schemas.ids import UUID_PATTERN

log = get_logger("portal")
router = APIRouter()

RESIDENT_ID: Final = re.compile(UUID_PATTERN)
NO_ONE_LOGIN = "Sign-in with GOV.UK One Login is not set up here."


@router.get("/")
async def start(request: Request) -> Response:
    me = await signed_in(request)
    target = f"/residents/{me.resident}/your-details" if me else "/sign-in"
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request, portal: PortalDep) -> Response:
    context = {
        "one_login": portal.oidc is not None,
        "development": dev_sign_in_offered(portal.settings),
        "errors": {},
    }
    return await render(request, "sign_in.html", context)


@router.post("/sign-in/development")
async def development_sign_in(request: Request, portal: PortalDep) -> Response:
    if not dev_sign_in_offered(portal.settings):
        raise HTTPException(404, "There is no development sign-in here.")
    form = await checked_form(request)
    resident = str(form.get("resident", "")).strip().lower()
    if not RESIDENT_ID.match(resident):
        errors = {
            "resident": "Enter a resident id in the correct format, "
            "like 3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
        }
        context = {"one_login": portal.oidc is not None, "development": True, "errors": errors}
        return await render(request, "sign_in.html", context, 400)
    await sign_in(request, resident, "development")
    log.info("signed in", resident=resident, component="development_sign_in")
    return RedirectResponse(f"/residents/{resident}/your-details", status_code=303)


@router.get("/sign-in/one-login")
async def one_login(request: Request, portal: PortalDep) -> Response:
    if portal.oidc is None:
        raise HTTPException(404, NO_ONE_LOGIN)
    try:
        return await portal.oidc.redirect(request)
    except SignInRefused as refused:
        return await _refused(request, refused)


@router.get("/sign-in/callback")
async def callback(request: Request, portal: PortalDep) -> Response:
    if portal.oidc is None:
        raise HTTPException(404, NO_ONE_LOGIN)
    try:
        subject = await portal.oidc.subject(request)
    except SignInRefused as refused:
        return await _refused(request, refused)
    resident = resident_for(portal.oidc.issuer, subject, dict(portal.residents))
    await sign_in(request, resident, "one_login")
    log.info("signed in", resident=resident, component="one_login")
    return RedirectResponse(f"/residents/{resident}/your-details", status_code=303)


@router.post("/sign-out", dependencies=[Depends(checked_form)])
async def sign_out_now(request: Request) -> Response:
    await sign_out(request)
    return RedirectResponse("/sign-in", status_code=303)


async def _refused(request: Request, refused: SignInRefused) -> Response:
    log.warning("sign-in refused", reason=refused.reason)
    detail = "We could not sign you in. Try again."
    return await error_page(request, 400, "Sign-in failed", detail, refused.reason)
