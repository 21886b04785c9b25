"""Reporting a change: a new email address or UK phone number, told once.

It is published as the resident's own claim (``attribute.verified`` from the
resident app, assurance ``low``, method ``self_asserted``); everyone the
resident shares it with gets it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from portal import _words as words
from portal._forms import new_request_id, normalise_phone, request_id
from portal._portal import Portal, PortalDep
from portal._rendering import render
from portal._session import CheckedForm, Me
from producers import events as build
from producers.errors import InvalidInput
from rps.logs import get_logger
from schemas import Event

log = get_logger("portal")
router = APIRouter(prefix="/residents/{resident}")

SELF_CLAIMS = ("email", "phone")
MISTAKES = {
    "attribute": "Select what you want to update",
    "email": "Enter an email address in the correct format, like name@example.com",
    "phone": "Enter a UK phone number, like 07700 900 982 or +44 7700 900 982",
}


@router.get("/update")
async def update(request: Request, me: Me) -> Response:
    context = {"page": "update", "values": {"request_id": new_request_id()}, "errors": {}}
    return await render(request, "update.html", context)


@router.post("/update")
async def update_submit(request: Request, me: Me, form: CheckedForm, portal: PortalDep) -> Response:
    attribute = str(form.get("attribute", ""))
    values = {
        "attribute": attribute,
        "email": str(form.get("email", "")).strip(),
        "phone": str(form.get("phone", "")).strip(),
        "request_id": request_id(form),
    }
    event = _own_claim(portal, me, values) if attribute in SELF_CLAIMS else None
    if event is None:
        field = attribute if attribute in SELF_CLAIMS else "attribute"
        context = {"page": "update", "values": values, "errors": {field: MISTAKES[field]}}
        return await render(request, "update.html", context, 400)
    await portal.sink.publish(event)
    log.info("own claim published", resident=me, attribute=attribute)
    context = {
        "page": "update",
        "title": f"We have your new {words.attribute_name(attribute).lower()}",
        "body": "Everyone you share it with will get it. It can take a minute to show on "
        "Your details.",
    }
    return await render(request, "done.html", context)


def _own_claim(portal: Portal, resident: str, values: dict[str, str]) -> Event | None:
    """The resident's own claim of the new value, or ``None`` when the value breaks its rule."""
    attribute = values["attribute"]
    value = values["email"] if attribute == "email" else normalise_phone(values["phone"])
    now = portal.clock()
    try:
        return build.verified(
            source=portal.settings.portal_source,
            resident=resident,
            attribute=attribute,
            value=value,
            assurance="low",
            method="self_asserted",
            verified_at=now,
            now=now,
            event_id=values["request_id"],
        )
    except InvalidInput:
        return None
