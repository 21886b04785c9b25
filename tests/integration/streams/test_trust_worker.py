"""Who may say what, enforced by a real ``rps worker`` and by ``rps replay`` on the real broker.

Every forged case of the trust model, sent straight to Kafka (unsigned, badly
signed, an unknown key, a revoked key, a key of another source, and correctly
signed events the signer's role forbids), is dead-lettered with its reason,
audited as rejected, and changes no delivery; the legitimate paths (the
resident app's consent, an authority's own subscription, a registrar's date of
death, a council's address) still reach the authority, with the signer named
in the audit; and a replay with the same rules equals the live state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

import schemas
from cli.spawn import environment
from producers import events as build
from rps import registry
from rps.settings import Settings
from schemas.registry import Role
from schemas.signing import SigningKey, sign_value
from schemas.topics import Topics
from streams.operators.replay import compare
from tests.integration.streams.conftest import Workers, audit_until, events_of, records_of

LIVERPOOL, WIRRAL = "E08000012", "E08000015"
COUNCIL = "urn:gss:E08000012"
WIRRAL_SOURCE = "urn:gss:E08000015"
REGISTRAR = "urn:org:gro"
GATEWAY = "urn:org:rps-gateway"
RESIDENT_APP = "urn:org:resident-app"
ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": LIVERPOOL,
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)


@pytest.fixture
def trusted(worker_settings: Settings, tmp_path: Path, workers: Workers) -> Settings:
    """The worker's settings with trust enforced and no grace (keys valid at once)."""
    tuned = worker_settings.model_copy(
        update={"trust": "enforce", "registry_grace_seconds": 0.0, "state_dir": tmp_path / "s"}
    )
    workers.settings = tuned
    return tuned


async def _keys(settings: Settings) -> dict[str, SigningKey]:
    roles = {
        COUNCIL: Role.LOCAL_AUTHORITY,
        WIRRAL_SOURCE: Role.LOCAL_AUTHORITY,
        REGISTRAR: Role.REGISTRAR,
        RESIDENT_APP: Role.RESIDENT_APP,
        GATEWAY: Role.GATEWAY,
    }
    keys = {}
    for source, role in roles.items():
        issued = await registry.register(settings, source, role)
        voucher = GATEWAY if role is Role.GATEWAY else None  # it signs only for others
        keys[source] = SigningKey.from_file(issued.path, issued.key_id, voucher)
    return keys


class Sender:
    """Sends events straight to the inbound topics, signed (or not) as the test says."""

    def __init__(self, settings: Settings) -> None:
        self.topics = Topics(settings.topic_prefix)
        self.producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())

    async def send(
        self, event: schemas.Event, key: SigningKey | None, *, tamper: bool = False
    ) -> None:
        value = schemas.encode(event)
        if key is not None:
            value = sign_value(value, key)
        if tamper:  # one byte of the data changed after signing
            value = value.replace(b"1 Dale Street", b"2 Dale Street")
        if isinstance(event, schemas.SubscriptionChanged):
            topic, record_key = self.topics.subscriptions, event.data.authority
        elif isinstance(event, schemas.ConsentGranted | schemas.ConsentWithdrawn):
            topic, record_key = self.topics.consents, event.subject
        else:
            topic, record_key = self.topics.attributes, event.subject
        await self.producer.send_and_wait(topic, value, key=record_key.encode())


def _claim(
    source: str, resident: str, attribute: str, value: object, level: str, method: str
) -> schemas.AttributeVerified:
    return build.verified(
        source=source,
        resident=resident,
        attribute=attribute,
        value=value,
        assurance=level,
        method=method,
        verified_at=_now(),
        now=_now(),
    )


async def test_forged_events_have_no_effect_and_legitimate_ones_do(
    trusted: Settings, workers: Workers
) -> None:
    """Each forged case is dead-lettered with its reason and audited as rejected, with no
    delivery; the legitimate paths deliver, naming their signer; replay equals live."""
    topics = Topics(trusted.topic_prefix)
    keys = await _keys(trusted)
    resident, other = str(uuid.uuid4()), str(uuid.uuid4())
    sender = Sender(trusted)
    await sender.producer.start()
    try:
        # Legitimate: Wirral's own subscriptions; the resident app's consent.
        subscribed = (("address", "medium"), ("date_of_death", "high"), ("email", "medium"))
        for attribute, level in subscribed:
            own = build.subscription_changed(
                source=WIRRAL_SOURCE,
                authority=WIRRAL,
                attribute=attribute,
                minimum_assurance=level,
                active=True,
                now=_now(),
            )
            await sender.send(own, keys[WIRRAL_SOURCE])
        # Forged: a subscription change for another authority (Liverpool's key, Wirral's).
        sneaky_subscription = build.subscription_changed(
            source=COUNCIL,
            authority=WIRRAL,
            attribute="email",
            minimum_assurance="low",
            active=True,
            now=_now(),
        )
        await sender.send(sneaky_subscription, keys[COUNCIL])
        workers()
        grant = build.consent_granted(
            source=RESIDENT_APP,
            resident=resident,
            authority=WIRRAL,
            attributes=["address", "date_of_death", "email"],
            purpose="council_tax",
            local_reference="WIR-1",
            now=_now(),
        )
        await sender.send(grant, keys[RESIDENT_APP])
        await audit_until(trusted, lambda rs: grant.id in {r.data.event_id for r in rs}, workers)

        # Forged, each correctly signed by a registered council whose role forbids it.
        consent_from_council = build.consent_granted(
            source=COUNCIL,
            resident=other,
            authority=LIVERPOOL,
            attributes=["address"],
            purpose="council_tax",
            local_reference="LIV-1",
            now=_now(),
        )
        withdrawal_for_another = build.consent_withdrawn(
            source=COUNCIL, resident=resident, authority=WIRRAL, attributes="all", now=_now()
        )
        death_from_council = _claim(
            COUNCIL,
            resident,
            "date_of_death",
            {"date": "2026-11-01"},
            "very_high",
            "death_registration",
        )
        forged: dict[str, tuple[schemas.Event, SigningKey | None, bool, str]] = {
            "consent from a council": (
                consent_from_council,
                keys[COUNCIL],
                False,
                "not_permitted_event_type",
            ),
            "withdrawal for another authority": (
                withdrawal_for_another,
                keys[COUNCIL],
                False,
                "not_permitted_event_type",
            ),
            "date of death from a council": (
                death_from_council,
                keys[COUNCIL],
                False,
                "not_permitted_attribute",
            ),
        }

        # Forged origin: unsigned, tampered, unknown key, another source's key, revoked key.
        def address() -> schemas.AttributeVerified:  # a fresh event each time
            return _claim(COUNCIL, resident, "address", ADDRESS, "medium", "council_tax_record")

        forged["unsigned"] = (address(), None, False, "unsigned")
        forged["badly signed"] = (address(), keys[COUNCIL], True, "bad_signature")
        stranger = SigningKey.generate(f"{COUNCIL}#never-registered")
        forged["unknown key"] = (address(), stranger, False, "unknown_key")
        claims_wirral = _claim(
            WIRRAL_SOURCE, resident, "address", ADDRESS, "medium", "council_tax_record"
        )
        forged["claiming another source"] = (
            claims_wirral,
            keys[COUNCIL],
            False,
            "signer_not_source",
        )
        rotated = await registry.rotate(trusted, COUNCIL)
        rotated_key = SigningKey.from_file(rotated.path, rotated.key_id)
        # Signed with the new key before its revocation: it verifies, live and in replay.
        name = {"given_names": "Ada", "family_name": "Lovelace"}
        before_revocation = _claim(
            COUNCIL, resident, "full_name", name, "medium", "council_tax_record"
        )
        await sender.send(before_revocation, rotated_key)
        revoked = await registry.revoke(trusted, COUNCIL, rotated.key_id)
        assert revoked.revoked_at is not None
        await asyncio.sleep(
            max(0.0, (revoked.revoked_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5
        )
        forged["revoked key"] = (address(), rotated_key, False, "revoked_key")
        for event, key, tamper, _ in forged.values():
            await sender.send(event, key, tamper=tamper)
        forged_ids = {event.id for event, *_ in forged.values()}
        audit = await audit_until(
            trusted,
            lambda rs: forged_ids <= {r.data.event_id for r in rs if r.data.decision == "rejected"},
            workers,
        )
        rejected = {r.data.event_id: r.data.reason for r in audit if r.data.decision == "rejected"}
        assert {case: rejected.get(v[0].id) for case, v in forged.items()} == {
            case: v[3] for case, v in forged.items()
        }

        # Legitimate: a council's address, a registrar's date of death, and a council's email
        # sent through the gateway, which vouches for it with its own key.
        council_address = address()
        vouched = _claim(COUNCIL, resident, "email", "a@example.org", "medium", "confirmation_link")
        death = _claim(
            REGISTRAR,
            resident,
            "date_of_death",
            {"date": "2026-11-01"},
            "very_high",
            "death_registration",
        )
        await sender.send(council_address, keys[COUNCIL])
        await sender.send(death, keys[REGISTRAR])
        await sender.send(vouched, keys[GATEWAY])
        legit = {council_address.id, death.id, vouched.id}
        audit = await audit_until(
            trusted,
            lambda rs: legit <= {r.data.event_id for r in rs if r.data.decision == "delivered"},
            workers,
        )
    finally:
        await sender.producer.stop()

    accepted = {r.data.event_id: r.data.signed_with for r in audit if r.data.decision == "accepted"}
    assert accepted.get(before_revocation.id) == rotated.key_id

    # Deliveries: only the legitimate claims, only to Wirral; nothing to Liverpool.
    deliveries = await events_of(trusted, topics.deliveries(WIRRAL), at_least=3)
    updated = [e for e in deliveries if isinstance(e, schemas.ProfileUpdated)]
    assert sorted(str(e.data.attribute) for e in updated) == ["address", "date_of_death", "email"]
    assert {e.data.provenance.claim_id for e in updated if e.data.provenance} == legit
    assert not [e for e in deliveries if isinstance(e, schemas.ConsentEnded)]
    delivered = {r.data.event_id for r in audit if r.data.decision == "delivered"}
    assert not delivered & forged_ids
    assert not [
        r for r in audit if r.data.authority == LIVERPOOL and r.data.decision == "delivered"
    ]

    # The audit names the verified signer of the legitimate inputs.
    signed = {
        r.data.event_id: (r.data.signed_with, r.data.vouched_by)
        for r in audit
        if r.data.event_id in legit
    }
    assert signed == {
        council_address.id: (keys[COUNCIL].key_id, None),
        death.id: (keys[REGISTRAR].key_id, None),
        vouched.id: (keys[GATEWAY].key_id, GATEWAY),
    }

    # `rps audit show` prints the key that proved each legitimate input, and the refusals.
    shown = subprocess.run(  # noqa: ASYNC221 - the command, as an operator runs it
        [str(Path(sys.executable).with_name("rps")), "audit", "show", resident, "--json"],
        env=environment(trusted),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert f'"signed_with": "{keys[REGISTRAR].key_id}"' in shown.stdout
    assert '"reason": "revoked_key"' in shown.stdout

    # Dead letters: each forged record with its reason, the subscription change included.
    dead = await records_of(trusted, topics.deadletter, at_least=len(forged) + 1)
    reasons = [dict(r.headers)["rps.dlq.reason"].decode() for r in dead]
    for *_, reason in forged.values():
        assert reason in reasons
    assert "not_own_subscription" in reasons

    # Replay with the same rules folds exactly what live folded.
    comparison = await compare(trusted)
    assert comparison.differing == [], comparison.differing
    assert comparison.rejected >= len(forged)
