"""The portal's web application: one factory for the app, its middleware and error pages.

``create_app(portal)`` builds the FastAPI app from a :class:`~portal.Portal`
(the read model, where events go, the subscription directory, the live
sessions, the OpenID provider): one wiring point, nothing done at import. The
pages are routers in ``portal._routes``, one module per group of pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from portal._portal import Portal
from portal._rendering import error_page, templates
from portal._routes import ROUTERS
from portal._session import Forbidden, NotSignedIn
from portal.errors import PortalUnavailable
from rps.http_metrics import RequestMetrics
from rps.logs import get_logger

log = get_logger("portal")

HERE = Path(__file__).parent
FRONTEND = HERE / "node_modules" / "govuk-frontend" / "dist" / "govuk"
SESSION_COOKIE = "rps_portal_session"

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
    app.state.portal = portal
    app.state.templates = templates()

    frontend = frontend_dir()
    app.mount("/assets", StaticFiles(directory=frontend / "assets"), name="assets")
    app.mount("/frontend", StaticFiles(directory=frontend), name="frontend")
    app.mount("/portal-static", StaticFiles(directory=HERE / "static"), name="portal-static")

    app.middleware("http")(_security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.portal_session_secret.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.portal_session_max_age_seconds,
        same_site="lax",
        https_only=settings.portal_cookie_secure,
    )
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RequestMetrics, service="portal")
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/sign-in", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    rule = exc.rule if isinstance(exc, Forbidden) else "forbidden"
    log.warning("request refused", rule=rule, status=403)
    detail = (
        "Your form had expired. Go back, reload the page and try again."
        if rule == "csrf_token"
        else "You can only see your own details."
    )
    return await error_page(request, 403, "You cannot do this", detail, rule)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = str(exc.detail) if isinstance(exc, StarletteHTTPException) else ""
    title = "Page not found" if status == 404 else "Sorry, there is a problem"
    return await error_page(request, status, title, detail, "http")
