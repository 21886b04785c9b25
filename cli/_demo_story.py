"""The demo's story: its cast (the authorities, the registrar, the resident app), its
subscriptions, and its chapters of events in the order they are published, with readable
labels. Built fresh for each run: resident ids come from a seed."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import schemas
from producers import events as build

LIVERPOOL, WIRRAL, DWP, DVLA = "E08000012", "E08000015", "urn:org:dwp", "urn:org:dvla"
SEFTON = "E08000014"
SUBSCRIBERS = (LIVERPOOL, WIRRAL, DWP, DVLA)
"""Authorities that run the reference subscriber into their own database."""
AUTHORITIES = (*SUBSCRIBERS, SEFTON)
"""Sefton receives by signed webhook (``cli.demo_webhook``)."""
REGISTRAR = "urn:org:gro"
RESIDENT_APP = "urn:org:resident-app"
NAMES = {LIVERPOOL: "Liverpool", WIRRAL: "Wirral", DWP: "DWP", DVLA: "DVLA", SEFTON: "Sefton"}

Step = tuple[str, list[schemas.Event]]
"""One chapter of the story: its title and the events published for it."""


@dataclass
class Story:
    """The demo's events, in the order they are published, with readable labels."""

    subscriptions: list[schemas.Event] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    residents: dict[str, str] = field(default_factory=dict)  # hub id -> label


def story(now: dt.datetime, seed: str) -> Story:
    """The scenario. Resident ids are derived from ``seed`` so each run has its own."""
    a, b, c = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{n}")) for n in "abc")
    earlier = now - dt.timedelta(days=3)
    return Story(
        subscriptions=_subscriptions(now),
        steps=[
            _consents(a, b, c, now),
            *_resident_a_updates(a, earlier, now),
            *_death_corrected(b, earlier, now),
            *_death_in_error(c, earlier, now),
            _withdrawal_then_address(c, earlier, now),
        ],
        residents={a: "resident A", b: "resident B", c: "resident C"},
    )


def _address(uprn: str, line: str, town: str, postcode: str, authority: str) -> dict[str, object]:
    return {
        "uprn": uprn,
        "lines": [line],
        "town": town,
        "postcode": postcode,
        "local_authority": authority,
    }


def _verified(
    source: str,
    resident: str,
    attribute: str,
    value: object,
    assurance: str,
    method: str,
    verified_at: dt.datetime,
    now: dt.datetime,
) -> schemas.AttributeVerified:
    return build.verified(
        source=source,
        resident=resident,
        attribute=attribute,
        value=value,
        assurance=assurance,
        method=method,
        verified_at=verified_at,
        now=now,
    )


def _retracted(
    source: str, resident: str, claim_id: str, attribute: str, reason: str, now: dt.datetime
) -> schemas.AttributeRetracted:
    return build.retracted(
        source=source,
        resident=resident,
        claim_id=claim_id,
        attribute=attribute,
        reason=reason,
        now=now,
    )


def _subscriptions(now: dt.datetime) -> list[schemas.Event]:
    """Liverpool, Wirral, DWP, DVLA and Sefton subscribe, each at its own assurance."""
    wanted = [
        (LIVERPOOL, "address", "medium"),
        (LIVERPOOL, "email", "medium"),
        (LIVERPOOL, "date_of_death", "high"),
        (WIRRAL, "address", "medium"),
        (WIRRAL, "email", "medium"),
        (WIRRAL, "date_of_death", "high"),
        (DWP, "address", "medium"),
        (DWP, "date_of_death", "high"),
        (DVLA, "address", "high"),
        (DVLA, "date_of_death", "high"),
        (SEFTON, "address", "medium"),
        (SEFTON, "date_of_death", "high"),
    ]
    return [
        build.subscription_changed(
            source=schemas.source_of_authority(authority),
            authority=authority,
            attribute=attribute,
            minimum_assurance=level,
            active=True,
            now=now,
        )
        for authority, attribute, level in wanted
    ]


def _consents(a: str, b: str, c: str, now: dt.datetime) -> Step:
    granted_at = now - dt.timedelta(minutes=10)

    def grant(resident: str, authority: str, attributes: list[str], ref: str) -> schemas.Event:
        return build.consent_granted(
            source=RESIDENT_APP,
            resident=resident,
            authority=authority,
            attributes=attributes,
            purpose="tell_us_once",
            local_reference=ref,
            now=granted_at,
        )

    return (
        "Three residents consent differently",
        [
            grant(a, LIVERPOOL, ["address", "email", "date_of_death"], "LIV-CT-100231"),
            grant(a, WIRRAL, ["address", "email"], "WIR-CT-200412"),
            grant(a, DWP, ["address", "date_of_death"], "DWP-CASE-300117"),
            grant(b, DWP, ["address", "date_of_death"], "DWP-CASE-400233"),
            grant(b, DVLA, ["address", "date_of_death"], "DVLA-DRV-500981"),
            grant(b, LIVERPOOL, ["date_of_death"], "LIV-CT-600540"),
            grant(c, WIRRAL, ["address", "email", "date_of_death"], "WIR-CT-700318"),
            grant(a, SEFTON, ["address"], "SEF-CT-800125"),
            grant(b, SEFTON, ["date_of_death"], "SEF-CT-800266"),
            grant(c, SEFTON, ["address", "date_of_death"], "SEF-CT-800377"),
        ],
    )


def _resident_a_updates(a: str, earlier: dt.datetime, now: dt.datetime) -> list[Step]:
    moved = _verified(
        schemas.source_of_authority(LIVERPOOL),
        a,
        "address",
        _address("38012345", "1 Dale Street", "Liverpool", "L2 2DH", LIVERPOOL),
        "medium",
        "council_tax_record",
        earlier,
        now,
    )
    email = _verified(
        RESIDENT_APP, a, "email", "resident.a@example.org", "low", "self_declared", earlier, now
    )
    return [
        ("Liverpool verifies resident A's new address (medium)", [moved]),
        ("Resident A types in an email address (low)", [email]),
    ]


def _death_corrected(b: str, earlier: dt.datetime, now: dt.datetime) -> list[Step]:
    typo = _verified(
        REGISTRAR,
        b,
        "date_of_death",
        {"date": "2026-11-02", "date_of_birth": "1941-05-17"},
        "high",
        "death_registration",
        earlier,
        now,
    )
    fixed = _verified(
        REGISTRAR,
        b,
        "date_of_death",
        {"date": "2026-11-01", "date_of_birth": "1941-05-17"},
        "high",
        "death_registration",
        earlier + dt.timedelta(hours=2),
        now,
    )
    return [
        ("The registrar registers resident B's death (high)", [typo]),
        (
            "The registrar corrects the date: retracts the typo, registers the right date",
            [_retracted(REGISTRAR, b, typo.id, "date_of_death", "mistyped", now), fixed],
        ),
    ]


def _death_in_error(c: str, earlier: dt.datetime, now: dt.datetime) -> list[Step]:
    wrong = _verified(
        REGISTRAR,
        c,
        "date_of_death",
        {"date": "2026-11-03", "date_of_birth": None},
        "high",
        "death_registration",
        earlier,
        now,
    )
    return [
        ("A death is registered for resident C: the wrong person", [wrong]),
        (
            "The registrar retracts it: reported in error",
            [_retracted(REGISTRAR, c, wrong.id, "date_of_death", "reported_in_error", now)],
        ),
    ]


def _withdrawal_then_address(c: str, earlier: dt.datetime, now: dt.datetime) -> Step:
    return (
        "Resident C withdraws consent from Wirral and Sefton, then Liverpool verifies C's address",
        [
            build.consent_withdrawn(
                source=RESIDENT_APP, resident=c, authority=WIRRAL, attributes="all", now=now
            ),
            build.consent_withdrawn(
                source=RESIDENT_APP, resident=c, authority=SEFTON, attributes="all", now=now
            ),
            _verified(
                schemas.source_of_authority(LIVERPOOL),
                c,
                "address",
                _address("38099876", "9 Bold Street", "Liverpool", "L1 4DN", LIVERPOOL),
                "high",
                "electoral_register",
                earlier + dt.timedelta(hours=1),
                now,
            ),
        ],
    )
