"""Pages and error answers: a template with what every layout needs, or a problem document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates

from portal import _words as words
from portal._portal import portal_of
from portal._session import csrf_token, signed_in

TEMPLATES = Path(__file__).parent / "templates"
SERVICE_NAME = "Tell us once"


def templates() -> Jinja2Templates:
    """The portal's Jinja2 templates (autoescaped), with the service name every page shows."""
    loaded = Jinja2Templates(directory=TEMPLATES)
    loaded.env.globals["service_name"] = SERVICE_NAME
    return loaded


async def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page, with what every page's layout needs (who is signed in, the CSRF token)."""
    loaded: Jinja2Templates = request.app.state.templates
    signed = await signed_in(request)
    base = {
        "csrf_token": csrf_token(request),
        "me": signed.resident if signed else None,
        "development_session": signed is not None and signed.via == "development",
        "words": words,
        "resident_app": portal_of(request).settings.portal_source,
    }
    return loaded.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


async def error_page(request: Request, status: int, title: str, detail: str, rule: str) -> Response:
    """An HTML page for browsers, an RFC 9457 problem document for everything else."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {"type": f"urn:rps:portal:{rule}", "title": title, "status": status, "detail": detail},
            status_code=status,
            media_type="application/problem+json",
        )
    return await render(request, "error.html", {"title": title, "detail": detail}, status)
