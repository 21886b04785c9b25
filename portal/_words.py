"""The words residents read: names of authorities and attributes, levels, reasons, values.

Plain functions from ids and codes to GOV.UK-style sentence-case text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

AUTHORITY_NAMES: Final = {
    "E08000012": "Liverpool City Council",
    "E08000015": "Wirral Council",
    "E06000001": "Hartlepool Borough Council",
    "W06000015": "Cardiff Council",
    "urn:org:dwp": "Department for Work and Pensions",
    "urn:org:dvla": "Driver and Vehicle Licensing Agency",
    "urn:org:gro": "General Register Office",
    "urn:org:hmrc": "HM Revenue and Customs",
}

ATTRIBUTE_NAMES: Final = {
    "full_name": "Name",
    "date_of_birth": "Date of birth",
    "address": "Address",
    "email": "Email address",
    "phone": "Phone number",
    "date_of_death": "Date of death",
}

LEVELS: Final = {
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "very_high": "Very high",
}

REASONS: Final = {
    "not_subscribed": "They do not ask for it",
    "own_claim": "They told us it themselves",
    "below_minimum_assurance": "It was not checked thoroughly enough for them",
    "no_consent": "You have not agreed to share it with them",
    "consent_withdrawn": "You stopped sharing it with them",
    "consent_expired": "Your agreement to share it had ended",
    "not_current": "A newer value had already been sent",
    "no_value_stands": "The value was taken back, so they were told to remove it",
    "withdrawn": "You stopped sharing with them",
    "expired": "Your agreement to share ended",
}

PURPOSES: Final = {
    "council_tax": "Council Tax",
    "benefits": "Benefits and support",
    "electoral_register": "Electoral register",
    "driving_licence": "Driving licence",
    "service_delivery": "Another service they provide to you",
}

STATUSES: Final = {
    "active": "Sharing",
    "partly_withdrawn": "Sharing some details",
    "withdrawn": "Stopped",
    "expired": "Ended",
}


def authority_name(authority: str) -> str:
    """The authority's name, or its id when we do not know the name."""
    return AUTHORITY_NAMES.get(authority, authority)


def source_name(source: str, resident_app: str) -> str:
    """Who verified a value: a publisher's ``source`` in words."""
    if source == resident_app:
        return "You"
    if source.startswith("urn:gss:"):
        return authority_name(source.removeprefix("urn:gss:"))
    return authority_name(source)


def attribute_name(attribute: str | None) -> str:
    return ATTRIBUTE_NAMES.get(attribute or "", attribute or "All details")


def level_name(level: str | None) -> str:
    return LEVELS.get(level or "", level or "")


def reason_text(reason: str | None) -> str:
    return REASONS.get(reason or "", reason or "")


def when(moment: dt.datetime | None) -> str:
    """``4 June 2026 at 3:05pm`` (UTC), the GOV.UK style for dates and times."""
    if moment is None:
        return ""
    moment = moment.astimezone(dt.UTC)
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{moment.day} {moment:%B %Y} at {hour}:{moment:%M}{suffix}"


def _date(text: object) -> str:
    try:
        day = dt.date.fromisoformat(str(text))
    except ValueError:
        return str(text)
    return f"{day.day} {day:%B %Y}"


def value_lines(attribute: str, value: Any) -> list[str]:
    """A value as the lines a resident reads (an address over several lines)."""
    if value is None:
        return []
    if attribute == "address" and isinstance(value, dict):
        return [
            *map(str, value.get("lines", [])),
            str(value.get("town", "")),
            str(value.get("postcode", "")),
        ]
    if attribute == "full_name" and isinstance(value, dict):
        return [f"{value.get('given_names', '')} {value.get('family_name', '')}".strip()]
    if attribute == "date_of_death" and isinstance(value, dict):
        return [_date(value.get("date"))]
    if attribute == "date_of_birth":
        return [_date(value)]
    return [str(value)]
