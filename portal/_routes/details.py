"""What the hub holds about the resident: "Your details", "Who has your details" and
"Download your data".

All read the hub's read model for the signed-in resident only; any other
resident's id in the path is refused before anything is read.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from consumers.readmodel import export
from portal import _pages as pages
from portal._portal import PortalDep
from portal._rendering import render
from portal._session import Me

router = APIRouter(prefix="/residents/{resident}")


@router.get("/your-details")
async def your_details(request: Request, me: Me, portal: PortalDep) -> Response:
    view = await portal.read_model.resident(me, portal.clock())
    rows = pages.details(view, portal.settings.portal_source)
    return await render(request, "details.html", {"rows": rows, "page": "details"})


@router.get("/who-has-your-details")
async def who_has(request: Request, me: Me, portal: PortalDep) -> Response:
    view = await portal.read_model.resident(me, portal.clock())
    return await render(request, "who.html", {"holdings": pages.holdings(view), "page": "who"})


@router.get("/download-your-data")
async def download(me: Me, portal: PortalDep) -> Response:
    """The resident's own copy of everything held (the same document as `rps residents
    export`), as a JSON attachment that no cache keeps."""
    document = await export(portal.read_model, me, portal.clock())
    return Response(
        orjson.dumps(document, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="your-data.json"',
            "Cache-Control": "no-store",
        },
    )
