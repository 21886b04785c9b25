"""The portal's web application: one factory, its middleware, error pages and sign-in routes.

``create_app(portal)`` builds the FastAPI app from a :class:`Portal` (the read
model, where events go, the subscription directory, the OIDC client): one
wiring point, nothing done at import. The resident's pages are in
``portal._resident``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from consumers.readmodel import ReadModel
from portal import _words as words
from portal._oidc import OidcClient, PendingSignIn
from portal._session import (
    RESIDENT_ID,
    Forbidden,
    NotSignedIn,
    check_csrf,
    csrf_token,
    resident_for,
    sign_in,
    signed_in,
)
from portal.errors import PortalUnavailable, SignInRefused
from rps.logs import get_logger
from rps.settings import Settings
from schemas import Event
from streams.core import Directory

log = get_logger("portal")

HERE = Path(__file__).parent
FRONTEND = HERE / "node_modules" / "govuk-frontend" / "dist" / "govuk"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


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
    oidc: OidcClient | None = None
    residents: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = _utcnow


def frontend_dir() -> Path:
    """GOV.UK Frontend's built files, installed by ``npm ci`` in ``portal/``."""
    if not (FRONTEND / "govuk-frontend.min.css").is_file():
        raise PortalUnavailable(
            "GOV.UK Frontend is not installed: run `make setup` (it runs `npm ci` in portal/)"
        )
    return FRONTEND


def create_app(portal: Portal) -> FastAPI:
    """The portal as an ASGI app."""
    settings = portal.settings
    app = FastAPI(title="Tell us once", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["service_name"] = "Tell us once"
    app.state.portal = portal
    app.state.templates = templates

    frontend = frontend_dir()
    app.mount("/assets", StaticFiles(directory=frontend / "assets"), name="assets")
    app.mount("/frontend", StaticFiles(directory=frontend), name="frontend")
    app.mount("/portal-static", StaticFiles(directory=HERE / "static"), name="portal-static")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.portal_session_secret.get_secret_value(),
        session_cookie="rps_portal_session",
        max_age=settings.portal_session_max_age_seconds,
        same_site="lax",
        https_only=settings.portal_cookie_secure,
    )

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        log.warning("request refused", rule=exc.rule, status=403)
        detail = (
            "Your form had expired. Go back, reload the page and try again."
            if exc.rule == "csrf_token"
            else "You can only see your own details."
        )
        return error_page(request, 403, "You cannot do this", detail, exc.rule)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title = "Page not found" if exc.status_code == 404 else "Sorry, there is a problem"
        return error_page(request, exc.status_code, title, str(exc.detail), "http")

    _sign_in_routes(app, portal, templates)
    from portal._resident import resident_routes

    resident_routes(app, portal, templates)
    return app


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page, with what every page's layout needs."""
    templates: Jinja2Templates = request.app.state.templates
    portal: Portal = request.app.state.portal
    base = {
        "csrf_token": csrf_token(request),
        "me": signed_in(request),
        "development_session": request.session.get("via") == "development",
        "words": words,
        "resident_app": portal.settings.portal_source,
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def error_page(request: Request, status: int, title: str, detail: str, rule: str) -> Response:
    """An HTML page for browsers, an RFC 9457 problem document for everything else."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {"type": f"urn:rps:portal:{rule}", "title": title, "status": status, "detail": detail},
            status_code=status,
            media_type="application/problem+json",
        )
    return render(request, "error.html", {"title": title, "detail": detail}, status)


def _sign_in_routes(app: FastAPI, portal: Portal, templates: Jinja2Templates) -> None:
    settings = portal.settings

    @app.get("/")
    async def start(request: Request) -> Response:
        me = signed_in(request)
        target = f"/residents/{me}/your-details" if me else "/sign-in"
        return RedirectResponse(target, status_code=303)

    @app.get("/sign-in")
    async def sign_in_page(request: Request) -> Response:
        return render(
            request,
            "sign_in.html",
            {
                "one_login": portal.oidc is not None,
                "development": settings.portal_development_sign_in_enabled,
                "errors": {},
            },
        )

    @app.post("/sign-in/development")
    async def development_sign_in(request: Request) -> Response:
        if not settings.portal_development_sign_in_enabled:
            raise StarletteHTTPException(404, "There is no development sign-in here.")
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        resident = str(form.get("resident", "")).strip().lower()
        if not RESIDENT_ID.match(resident):
            errors = {
                "resident": "Enter a resident id in the correct format, "
                "like 3f9c2a4e-8b1d-4c6a-9e2f-1a2b3c4d5e6f"
            }
            context = {"one_login": portal.oidc is not None, "development": True, "errors": errors}
            return render(request, "sign_in.html", context, 400)
        sign_in(request, resident, "development")
        log.info("signed in", resident=resident, component="development_sign_in")
        return RedirectResponse(f"/residents/{resident}/your-details", status_code=303)

    @app.get("/sign-in/one-login")
    async def one_login(request: Request) -> Response:
        if portal.oidc is None:
            raise StarletteHTTPException(404, "Sign-in with GOV.UK One Login is not set up here.")
        url, pending = await portal.oidc.begin()
        request.session["oidc"] = pending.to_session()
        return RedirectResponse(url, status_code=302)

    @app.get("/sign-in/callback")
    async def callback(request: Request) -> Response:
        if portal.oidc is None:
            raise StarletteHTTPException(404, "Sign-in with GOV.UK One Login is not set up here.")
        try:
            pending = PendingSignIn.from_session(request.session.pop("oidc", None))
            subject = await portal.oidc.complete(dict(request.query_params), pending)
        except SignInRefused as refused:
            log.warning("sign-in refused", reason=refused.reason)
            return error_page(
                request,
                400,
                "Sign-in failed",
                "We could not sign you in. Try again.",
                refused.reason,
            )
        resident = resident_for(portal.oidc.issuer, subject, dict(portal.residents))
        sign_in(request, resident, "one_login")
        log.info("signed in", resident=resident, component="one_login")
        return RedirectResponse(f"/residents/{resident}/your-details", status_code=303)

    @app.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        request.session.clear()
        return RedirectResponse("/sign-in", status_code=303)
