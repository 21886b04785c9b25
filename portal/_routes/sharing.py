"""Consent: share with an authority (choose, preview, confirm) and stop sharing.

The preview shows exactly what each detail would send now (the hub's own rule
at that authority's minimum level) or why nothing would be sent; confirming
publishes ``consent.granted``, stopping publishes ``consent.withdrawn`` for all
details. Every POST checks the CSRF token.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from portal import _pages as pages
from portal import _words as words
from portal._forms import new_request_id, request_id
from portal._portal import Portal, PortalDep
from portal._rendering import render
from portal._session import CheckedForm, Me
from producers import events as build
from producers.errors import InvalidInput
from rps.logs import get_logger
from schemas import LOCAL_REFERENCE_PATTERN, AttributeName
from streams.core import LEVELS

log = get_logger("portal")
router = APIRouter(prefix="/residents/{resident}")

ATTRIBUTES = tuple(a.value for a in AttributeName)
LEVEL_NAMES = dict(enumerate(LEVELS))


@router.get("/share")
async def share(request: Request, me: Me, portal: PortalDep) -> Response:
    return await _share_form(request, portal, {"attributes": [], "request_id": new_request_id()})


@router.post("/share/preview")
async def share_preview(request: Request, me: Me, form: CheckedForm, portal: PortalDep) -> Response:
    values, errors = _read_share(portal, form)
    if errors:
        return await _share_form(request, portal, values, errors)
    rows = [
        await _preview_row(portal, me, values["authority"], attribute)
        for attribute in values["attributes"]
    ]
    context = {"page": "share", "values": values, "rows": rows}
    return await render(request, "share_preview.html", context)


@router.post("/share/confirm")
async def share_confirm(request: Request, me: Me, form: CheckedForm, portal: PortalDep) -> Response:
    values, errors = _read_share(portal, form)
    if errors:
        return await _share_form(request, portal, values, errors)
    event = build.consent_granted(
        source=portal.settings.portal_source,
        resident=me,
        authority=values["authority"],
        attributes=values["attributes"],
        purpose=values["purpose"],
        local_reference=values["local_reference"],
        now=portal.clock(),
        event_id=values["request_id"],
    )
    await portal.sink.publish(event)
    log.info("consent granted", resident=me, authority=values["authority"])
    context = {
        "page": "share",
        "title": f"You are now sharing with {words.authority_name(values['authority'])}",
        "body": "It can take a minute to show on Who has your details.",
    }
    return await render(request, "done.html", context)


@router.get("/stop-sharing")
async def stop_sharing(
    request: Request, me: Me, portal: PortalDep, authority: str = ""
) -> Response:
    view = await portal.read_model.resident(me, portal.clock())
    if authority not in {c.authority for c in view.consents if c.allowed}:
        return RedirectResponse(f"/residents/{me}/who-has-your-details", 303)
    context = {"page": "who", "authority": authority, "request_id": new_request_id()}
    return await render(request, "stop_sharing.html", context)


@router.post("/stop-sharing")
async def stop_sharing_confirm(
    request: Request, me: Me, form: CheckedForm, portal: PortalDep
) -> Response:
    authority = str(form.get("authority", ""))
    try:
        event = build.consent_withdrawn(
            source=portal.settings.portal_source,
            resident=me,
            authority=authority,
            attributes="all",
            now=portal.clock(),
            event_id=request_id(form),
        )
    except InvalidInput:
        return RedirectResponse(f"/residents/{me}/who-has-your-details", 303)
    await portal.sink.publish(event)
    log.info("consent withdrawn", resident=me, authority=authority)
    context = {
        "page": "who",
        "title": f"You have stopped sharing with {words.authority_name(authority)}",
        "body": "They have been told to stop using your details and delete them.",
    }
    return await render(request, "done.html", context)


async def _share_form(
    request: Request, portal: Portal, values: dict[str, Any], errors: dict[str, str] | None = None
) -> Response:
    authorities = sorted(portal.directory().authorities(), key=words.authority_name)
    context = {
        "page": "share",
        "authorities": authorities,
        "attributes": ATTRIBUTES,
        "purposes": words.PURPOSES,
        "values": values,
        "errors": errors or {},
    }
    return await render(request, "share.html", context, 400 if errors else 200)


def _read_share(portal: Portal, form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The share form's values, and an error per field that breaks its rule."""
    values: dict[str, Any] = {
        "authority": str(form.get("authority", "")),
        "attributes": [str(a) for a in form.getlist("attributes")],
        "purpose": str(form.get("purpose", "")),
        "local_reference": str(form.get("local_reference", "")).strip(),
        "request_id": request_id(form),
    }
    errors: dict[str, str] = {}
    if values["authority"] not in portal.directory().authorities():
        errors["authority"] = "Select who you want to share your details with"
    if not values["attributes"] or not set(values["attributes"]) <= set(ATTRIBUTES):
        errors["attributes"] = "Select the details you want to share"
    if values["purpose"] not in words.PURPOSES:
        errors["purpose"] = "Select what they will use your details for"
    if not re.match(LOCAL_REFERENCE_PATTERN, values["local_reference"]):
        errors["local_reference"] = (
            "Enter your reference with them, using only letters, numbers and / _ . -"
            " (up to 64 characters)"
        )
    return values, errors


async def _preview_row(
    portal: Portal, resident: str, authority: str, attribute: str
) -> pages.PreviewRow:
    """What sharing ``attribute`` with ``authority`` would send now, or why nothing would."""
    minimum = portal.directory().minimum_level(authority, attribute)
    entry = None
    if minimum is None:
        note = "They do not ask for this, so nothing will be sent."
    else:
        entry = await portal.read_model.visible_to(resident, attribute, minimum, authority)
        level = words.level_name(LEVEL_NAMES.get(minimum))
        note = (
            f"Nothing will be sent yet: they need it checked at {level.lower()} "
            "assurance or higher. It will be sent when we have it."
            if entry is None
            else "This will be sent now, and any change later."
        )
    resident_app = portal.settings.portal_source
    return pages.PreviewRow(
        attribute=attribute,
        label=words.attribute_name(attribute),
        lines=words.value_lines(attribute, entry.value) if entry else [],
        verified_by=words.source_name(entry.source, resident_app) if entry else "",
        assurance=words.level_name(entry.assurance) if entry else "",
        note=note,
    )
