"""The resident's pages: your details, who has them, share, stop sharing, update a detail.

Every route is under ``/residents/{resident}/`` and refuses any resident but
the signed-in one. Every POST checks the CSRF token. Forms carry a request id,
made when the form is shown, that becomes the event id: submitting twice
publishes one event (consumers apply by event id).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from portal import _pages as pages
from portal import _words as words
from portal._app import Portal, render
from portal._session import check_csrf, own_resident
from producers import events as build
from producers.errors import InvalidInput
from rps.logs import get_logger
from schemas import AttributeName
from schemas._envelope import LOCAL_REFERENCE_PATTERN
from schemas.ids import UUID_PATTERN
from streams.core import LEVELS

log = get_logger("portal")

SELF_CLAIMS = ("email", "phone")
ATTRIBUTES = tuple(a.value for a in AttributeName)
LEVEL_NAMES = dict(enumerate(LEVELS))
_REQUEST_ID = re.compile(UUID_PATTERN)


def _request_id(form: FormData) -> str:
    given = str(form.get("request_id", ""))
    return given if _REQUEST_ID.match(given) else str(uuid.uuid4())


def normalise_phone(text: str) -> str:
    """UK phone numbers as typed (07700 900123, +44 7700 900123) in E.164 (+447700900123)."""
    digits = re.sub(r"[\s().-]", "", text)
    if digits.startswith("0044"):
        digits = "+44" + digits[4:]
    elif digits.startswith("0"):
        digits = "+44" + digits[1:]
    return digits


def resident_routes(app: FastAPI, portal: Portal, templates: Jinja2Templates) -> None:
    settings = portal.settings
    model = portal.read_model

    @app.get("/residents/{resident}/your-details")
    async def your_details(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        view = await model.resident(resident, portal.clock())
        rows = pages.details(view, settings.portal_source)
        return render(request, "details.html", {"rows": rows, "page": "details"})

    @app.get("/residents/{resident}/who-has-your-details")
    async def who_has(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        view = await model.resident(resident, portal.clock())
        return render(request, "who.html", {"holdings": pages.holdings(view), "page": "who"})

    # Share with an authority: choose, preview, confirm -------------------------------------

    def share_form(request: Request, values: dict[str, Any], errors: dict[str, str]) -> Response:
        authorities = sorted(portal.directory().authorities(), key=words.authority_name)
        context = {
            "page": "share",
            "authorities": authorities,
            "attributes": ATTRIBUTES,
            "purposes": words.PURPOSES,
            "values": values,
            "errors": errors,
        }
        return render(request, "share.html", context, 400 if errors else 200)

    def read_share(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {
            "authority": str(form.get("authority", "")),
            "attributes": [str(a) for a in form.getlist("attributes")],
            "purpose": str(form.get("purpose", "")),
            "local_reference": str(form.get("local_reference", "")).strip(),
            "request_id": _request_id(form),
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

    @app.get("/residents/{resident}/share")
    async def share(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        return share_form(request, {"attributes": [], "request_id": str(uuid.uuid4())}, {})

    @app.post("/residents/{resident}/share/preview")
    async def share_preview(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        values, errors = read_share(form)
        if errors:
            return share_form(request, values, errors)
        rows = await preview_rows(resident, values["authority"], values["attributes"])
        context = {"page": "share", "values": values, "rows": rows}
        return render(request, "share_preview.html", context)

    async def preview_rows(
        resident: str, authority: str, attributes: list[str]
    ) -> list[pages.PreviewRow]:
        directory = portal.directory()
        rows = []
        for attribute in attributes:
            minimum = directory.minimum_level(authority, attribute)
            entry = None
            if minimum is None:
                note = "They do not ask for this, so nothing will be sent."
            else:
                entry = await model.visible_to(resident, attribute, minimum, authority)
                level = words.level_name(LEVEL_NAMES.get(minimum))
                note = (
                    f"Nothing will be sent yet: they need it checked at {level.lower()} "
                    "assurance or higher. It will be sent when we have it."
                    if entry is None
                    else "This will be sent now, and any change later."
                )
            rows.append(
                pages.PreviewRow(
                    attribute=attribute,
                    label=words.attribute_name(attribute),
                    lines=words.value_lines(attribute, entry.value) if entry else [],
                    verified_by=words.source_name(entry.source, settings.portal_source)
                    if entry
                    else "",
                    assurance=words.level_name(entry.assurance) if entry else "",
                    note=note,
                )
            )
        return rows

    @app.post("/residents/{resident}/share/confirm")
    async def share_confirm(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        values, errors = read_share(form)
        if errors:
            return share_form(request, values, errors)
        now = portal.clock()
        event = build.consent_granted(
            source=settings.portal_source,
            resident=resident,
            authority=values["authority"],
            attributes=values["attributes"],
            purpose=values["purpose"],
            local_reference=values["local_reference"],
            now=now,
            event_id=values["request_id"],
        )
        await portal.sink.publish(event)
        log.info("consent granted", resident=resident, authority=values["authority"])
        context = {
            "page": "share",
            "title": f"You are now sharing with {words.authority_name(values['authority'])}",
            "body": "It can take a minute to show on Who has your details.",
        }
        return render(request, "done.html", context)

    # Stop sharing ---------------------------------------------------------------------------

    @app.get("/residents/{resident}/stop-sharing")
    async def stop_sharing(request: Request, resident: str, authority: str = "") -> Response:
        own_resident(request, resident)
        view = await model.resident(resident, portal.clock())
        if authority not in {c.authority for c in view.consents if c.allowed}:
            return RedirectResponse(f"/residents/{resident}/who-has-your-details", 303)
        context = {"page": "who", "authority": authority, "request_id": str(uuid.uuid4())}
        return render(request, "stop_sharing.html", context)

    @app.post("/residents/{resident}/stop-sharing")
    async def stop_sharing_confirm(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        authority = str(form.get("authority", ""))
        try:
            event = build.consent_withdrawn(
                source=settings.portal_source,
                resident=resident,
                authority=authority,
                attributes="all",
                now=portal.clock(),
                event_id=_request_id(form),
            )
        except InvalidInput:
            return RedirectResponse(f"/residents/{resident}/who-has-your-details", 303)
        await portal.sink.publish(event)
        log.info("consent withdrawn", resident=resident, authority=authority)
        context = {
            "page": "who",
            "title": f"You have stopped sharing with {words.authority_name(authority)}",
            "body": "They have been told to stop using your details and delete them.",
        }
        return render(request, "done.html", context)

    # Update a detail (the resident's own claim, low assurance) -------------------------------

    @app.get("/residents/{resident}/update")
    async def update(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        values = {"request_id": str(uuid.uuid4())}
        return render(request, "update.html", {"page": "update", "values": values, "errors": {}})

    @app.post("/residents/{resident}/update")
    async def update_submit(request: Request, resident: str) -> Response:
        own_resident(request, resident)
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        attribute = str(form.get("attribute", ""))
        values = {
            "attribute": attribute,
            "email": str(form.get("email", "")).strip(),
            "phone": str(form.get("phone", "")).strip(),
            "request_id": _request_id(form),
        }
        errors: dict[str, str] = {}
        if attribute not in SELF_CLAIMS:
            errors["attribute"] = "Select what you want to update"
        else:
            value = values[attribute] if attribute == "email" else normalise_phone(values["phone"])
            now = portal.clock()
            try:
                event = build.verified(
                    source=settings.portal_source,
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
                errors[attribute] = (
                    "Enter an email address in the correct format, like name@example.com"
                    if attribute == "email"
                    else "Enter a UK phone number, like 07700 900 982 or +44 7700 900 982"
                )
        if errors:
            context = {"page": "update", "values": values, "errors": errors}
            return render(request, "update.html", context, 400)
        await portal.sink.publish(event)
        log.info("own claim published", resident=resident, attribute=attribute)
        context = {
            "page": "update",
            "title": f"We have your new {words.attribute_name(attribute).lower()}",
            "body": "Everyone you share it with will get it. It can take a minute to show on "
            "Your details.",
        }
        return render(request, "done.html", context)
