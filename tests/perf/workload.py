"""The benchmark's events: subscriptions, resident state to start from, and a realistic mix.

Everything is deterministic for a seed and built with the publishing SDK's
builders (``producers.events``), so every event is valid exactly as a
publisher's would be. The mix of the measured events, per 100:

- 35 address changes from the resident's council (medium assurance),
- 25 email addresses typed in through the resident app (low),
- 5 registered deaths from the registrar (high),
- 10 retractions of an earlier claim by its own publisher,
- 20 consents granted and 5 withdrawn through the resident app.

Residents start with consents already held: ``preload`` encodes, with the
worker's own core and codec, a profile per resident that has granted three
authorities (of the ``authorities`` subscribing) its address, email and date of
death, for writing straight onto the worker's changelog. That is how the
worker can start with a million residents without a million events first.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from aiokafka.partitioner import DefaultPartitioner

import schemas
from producers import events as build
from producers.keys import key_for
from producers.routing import topic_for
from schemas.signing import SigningKey, sign_value
from schemas.topics import Topics
from streams.core import Directory, Profile, SubscriptionChange, apply_all, decide
from streams.worker import codec, stored

REGISTRAR = "urn:org:gro"
RESIDENT_APP = "urn:org:resident-app"
ATTRIBUTES = ("address", "email", "date_of_death")
LEVELS = {"address": "medium", "email": "low", "date_of_death": "high"}
CONSENTS_PER_RESIDENT = 3
_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True, slots=True)
class Record:
    """One inbound record ready for the wire."""

    topic: str
    key: bytes
    value: bytes
    event_id: str
    source: str = ""


def authorities(count: int) -> list[str]:
    """``count`` distinct GSS codes for subscribing councils."""
    return [f"E06{n + 1:06d}" for n in range(count)]


def resident_id(n: int) -> str:
    """The hub id of resident number ``n``: a UUID, stable for ``n``."""
    return str(uuid.UUID(int=(0x5EED << 96) | n, version=4))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def subscriptions(councils: list[str], now: dt.datetime) -> list[schemas.Event]:
    """Each council subscribes to address (medium), email (low) and date of death (high)."""
    return [
        build.subscription_changed(
            source=schemas.source_of_authority(authority),
            authority=authority,
            attribute=attribute,
            minimum_assurance=LEVELS[attribute],
            active=True,
            now=now,
        )
        for authority in councils
        for attribute in ATTRIBUTES
    ]


def consented(n: int, councils: list[str]) -> list[str]:
    """The councils resident ``n`` has granted consent to."""
    count = min(CONSENTS_PER_RESIDENT, len(councils))
    return [councils[(n + k) % len(councils)] for k in range(count)]


def _grant(
    resident: str, authority: str, now: dt.datetime, event_id: str | None = None
) -> schemas.Event:
    return build.consent_granted(
        source=RESIDENT_APP,
        resident=resident,
        authority=authority,
        attributes=list(ATTRIBUTES),
        purpose="council_services",
        local_reference=f"LR-{resident}",
        now=now,
        event_id=event_id,
    )


def preload(residents: int, councils: list[str], now: dt.datetime) -> Iterator[tuple[bytes, bytes]]:
    """(key, stored profile) for every resident, each holding its three consents.

    One profile per consent pattern is decided by the core; the others are the
    same bytes with the resident's id in place of the placeholder's.
    """
    changes = [codec.to_fact(event) for event in subscriptions(councils, now)]
    directory: Directory = apply_all(c for c in changes if isinstance(c, SubscriptionChange))
    templates: dict[tuple[str, ...], bytes] = {}
    for n in range(residents):
        pattern = tuple(consented(n, councils))
        if pattern not in templates:
            profile = Profile(_PLACEHOLDER)
            for k, authority in enumerate(pattern):
                grant = _grant(_PLACEHOLDER, authority, now, f"{_PLACEHOLDER[:-2]}{k:02d}")
                fact = codec.to_fact(grant)
                assert not isinstance(fact, SubscriptionChange)
                profile = decide(profile, fact, directory, now).profile
            templates[pattern] = stored.encode_profile(profile)
        resident = resident_id(n)
        yield (
            resident.encode(),
            templates[pattern].replace(_PLACEHOLDER.encode(), resident.encode()),
        )


def _address(rng: random.Random, council: str) -> dict[str, object]:
    return {
        "uprn": str(rng.randint(1, 10**11)),
        "lines": [f"{rng.randint(1, 300)} Example Street"],
        "town": "Liverpool",
        "postcode": "L1 8JQ",
        "local_authority": council,
    }


def mix(
    count: int, residents: int, councils: list[str], topics: Topics, *, seed: int = 7
) -> list[Record]:
    """``count`` measured events over ``min(residents, count // 4)`` residents of the store.

    The residents touched are drawn from the whole population, so the
    profiles they hit look the same at 10,000 residents as at a million and
    only the size of the store differs.
    """
    rng = random.Random(seed)
    now = _now()
    active = rng.sample(range(residents), max(1, min(residents, count // 4)))
    claims: dict[str, list[tuple[str, str, str]]] = {}  # resident -> (id, source, attribute)
    out: list[Record] = []
    for n in range(count):
        number = rng.choice(active)
        resident = resident_id(number)
        home = councils[number % len(councils)]
        verified_at = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        roll = rng.randrange(100)
        event: schemas.Event
        if roll < 10 and claims.get(resident):
            claim_id, source, attribute = rng.choice(claims[resident])
            event = build.retracted(
                source=source,
                resident=resident,
                claim_id=claim_id,
                attribute=attribute,
                reason="reported_in_error",
                now=now,
            )
        elif roll < 30:
            event = _grant(resident, rng.choice(councils), now)
        elif roll < 35:
            event = build.consent_withdrawn(
                source=RESIDENT_APP,
                resident=resident,
                authority=rng.choice(councils),
                attributes="all",
                now=now,
            )
        elif roll < 40:
            event = build.verified(
                source=REGISTRAR,
                resident=resident,
                attribute="date_of_death",
                value={
                    "date": (verified_at - dt.timedelta(days=1)).date().isoformat(),
                    "date_of_birth": "1941-05-17",
                },
                assurance="high",
                method="death_registration",
                verified_at=verified_at,
                now=now,
            )
        elif roll < 65:
            event = build.verified(
                source=RESIDENT_APP,
                resident=resident,
                attribute="email",
                value=f"resident{n}@example.com",
                assurance="low",
                method="self_asserted",
                verified_at=verified_at,
                now=now,
            )
        else:
            event = build.verified(
                source=schemas.source_of_authority(home),
                resident=resident,
                attribute="address",
                value=_address(rng, home),
                assurance="medium",
                method="council_tax_record",
                verified_at=verified_at,
                now=now,
            )
        if isinstance(event, schemas.AttributeVerified):
            claims.setdefault(resident, []).append(
                (event.id, event.source, event.data.attribute.value)
            )
        out.append(
            Record(
                topic_for(event, topics),
                key_for(event),
                schemas.encode(event),
                event.id,
                event.source,
            )
        )
    return out


def signed(records: list[Record], keys: Mapping[str, SigningKey]) -> list[Record]:
    """``records`` each signed by its own source's key (as its publisher would send them)."""
    return [replace(r, value=sign_value(r.value, keys[r.source])) for r in records]


def warmup(topics: Topics, councils: list[str]) -> Record:
    """One consent for a resident outside the population: proves the pipeline is running."""
    event = _grant(str(uuid.uuid4()), councils[0], _now())
    return Record(
        topic_for(event, topics), key_for(event), schemas.encode(event), event.id, event.source
    )


def warmups(topics: Topics, councils: list[str], partitions: int) -> list[Record]:
    """One warm-up event on each inbound partition (keys hashed as the producer hashes them)."""
    found: dict[int, Record] = {}
    while len(found) < partitions:
        record = warmup(topics, councils)
        found.setdefault(DefaultPartitioner()(record.key, list(range(partitions)), []), record)
    return list(found.values())
