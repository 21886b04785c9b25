"""What the hub holds about the resident: "Your details" and "Who has your details".

Both read the hub's read model for the signed-in resident only; any other
resident's id in the path is refused before anything is read.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

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
