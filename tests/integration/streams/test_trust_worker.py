"""Who may say what, enforced by a real ``rps worker`` and by ``rps replay`` on the real broker.

Every forged case of the trust model, sent straight to Kafka (unsigned, badly
signed, an unknown key, a revoked key, a key of another source, and correctly
signed events the signer's role forbids; subscription changes among them), is
dead-lettered once with its reason, audited as rejected (a subscription change
under the authority it names, shown by ``rps audit show AUTHORITY``), and
changes no delivery and no holding; the legitimate paths (the resident app's
consent, an authority's own subscription, a registrar's date of death, a
council's address) still reach the authority, with the signer named in the
audit; the audit trail verifies; and a replay with the same rules equals the
live state and finds each refused subscription change audited as the worker
wrote it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

import schemas
from producers import events as build
from rps import registry
from rps.reading import partitions_of
from rps.settings import Settings
from schemas.signing import SigningKey
from schemas.topics import Topics
from streams.operators.auditing import verify_trail
from streams.operators.replay import compare, live
from tests.integration.streams.conftest import Workers, audit_until, events_of, records_of
from tests.integration.streams.trust_sending import (
    ADDRESS,
    COUNCIL,
    GATEWAY,
    LIVERPOOL,
    REGISTRAR,
    RESIDENT_APP,
    WIRRAL,
    WIRRAL_SOURCE,
    Sender,
    audit_show,
    claim,
    now,
    register_keys,
    subscription,
)

Forged = dict[str, tuple[schemas.Event, SigningKey | None, bool, str]]
"""Each forged case by name: the event, the key it is signed with, tampered, its reason."""

Legit = dict[str, tuple[str, str, str | None]]
"""Each legitimate claim by attribute: its id, the key that signed it, the voucher."""


@pytest.fixture
def trusted(worker_settings: Settings, tmp_path: Path, workers: Workers) -> Settings:
    """The worker's settings with trust enforced and no grace (keys valid at once)."""
    tuned = worker_settings.model_copy(
        update={"trust": "enforce", "registry_grace_seconds": 0.0, "state_dir": tmp_path / "s"}
    )
    workers.settings = tuned
    return tuned


async def test_forged_events_have_no_effect_and_legitimate_ones_do(
    trusted: Settings, workers: Workers
) -> None:
    """Each forged case is dead-lettered once with its reason and audited as rejected, with no
    delivery and no holding; the legitimate paths deliver, naming their signer; the trail
    verifies; replay equals live and finds every refused subscription change audited."""
    keys = await register_keys(trusted)
    resident, other = str(uuid.uuid4()), str(uuid.uuid4())
    sender = Sender(trusted)
    await sender.producer.start()
    try:
        subscriptions = await _subscribe_and_forge(sender, keys)
        workers()
        grant = build.consent_granted(
            source=RESIDENT_APP,
            resident=resident,
            authority=WIRRAL,
            attributes=["address", "date_of_death", "email"],
            purpose="council_tax",
            local_reference="WIR-1",
            now=now(),
        )
        await sender.send(grant, keys[RESIDENT_APP])
        # The resident app's own email at low: Wirral asks for medium (a forged change to low
        # had no effect), so it is withheld, and never delivered.
        low_email = claim(RESIDENT_APP, resident, "email", "b@example.org", "low", "self_asserted")
        await sender.send(low_email, keys[RESIDENT_APP])
        await audit_until(
            trusted, lambda rs: low_email.id in {r.data.event_id for r in rs}, workers
        )
        forged, before_revocation, rotated_id = await _forge_inbound(
            trusted, sender, keys, resident, other
        )
        forged |= subscriptions
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
        legit = await _send_legitimate(sender, keys, resident)
        ids = {claim_id for claim_id, *_ in legit.values()}
        audit = await audit_until(
            trusted,
            lambda rs: ids <= {r.data.event_id for r in rs if r.data.decision == "delivered"},
            workers,
        )
    finally:
        await sender.producer.stop()

    low = {
        (r.data.decision, r.data.authority, r.data.reason)
        for r in audit
        if r.data.event_id == low_email.id
    }
    assert low == {("accepted", None, None), ("withheld", WIRRAL, "below_minimum_assurance")}
    accepted = {r.data.event_id: r.data.signed_with for r in audit if r.data.decision == "accepted"}
    assert accepted.get(before_revocation.id) == rotated_id
    await _check_deliveries_and_signers(trusted, audit, legit, forged_ids)
    await _check_holdings(trusted, resident, other, legit)
    await _check_dead_letters(trusted, forged)
    await _check_subscription_refusals(trusted, audit, subscriptions)
    shown = audit_show(trusted, resident)  # the key that proved an input, and the refusals
    assert f'"signed_with": "{keys[REGISTRAR].key_id}"' in shown
    assert '"reason": "revoked_key"' in shown

    # The chain holds with the refusals in it; replay folds exactly what live folded and
    # finds each refused subscription change audited as the worker wrote it.
    assert [r for r in await verify_trail(trusted) if r.first_break is not None] == []
    comparison = await compare(trusted)
    assert comparison.differing == [], comparison.differing
    assert comparison.rejected >= len(forged) - len(subscriptions)
    refusals = comparison.refusals
    assert (refusals.refused, refusals.missing) == (len(subscriptions), ())
    assert refusals.audited == len(subscriptions)


async def _subscribe_and_forge(sender: Sender, keys: dict[str, SigningKey]) -> Forged:
    """Wirral's own subscriptions, then forged changes: Liverpool's key changing Wirral's,
    Wirral's own change unsigned, and the registrar (whose role subscribes to nothing)."""
    for attribute, level in (("address", "medium"), ("date_of_death", "high"), ("email", "medium")):
        await sender.send(
            subscription(WIRRAL_SOURCE, WIRRAL, attribute, level), keys[WIRRAL_SOURCE]
        )
    forged: Forged = {
        "subscription for another authority": (
            subscription(COUNCIL, WIRRAL, "email", "low"),
            keys[COUNCIL],
            False,
            "not_own_subscription",
        ),
        "unsigned subscription": (
            subscription(WIRRAL_SOURCE, WIRRAL, "email", "low"),
            None,
            False,
            "unsigned",
        ),
        "subscription from the registrar": (
            subscription(REGISTRAR, REGISTRAR, "date_of_death", "high"),
            keys[REGISTRAR],
            False,
            "not_permitted_event_type",
        ),
    }
    for event, key, *_ in forged.values():
        await sender.send(event, key)
    return forged


async def _forge_inbound(
    settings: Settings, sender: Sender, keys: dict[str, SigningKey], resident: str, other: str
) -> tuple[Forged, schemas.AttributeVerified, str]:
    """Send the forged attributes and consents; with them, the claim signed with a key just
    before its revocation, and that key's id."""
    forged = _forbidden_by_role(keys, resident, other)

    def address() -> schemas.AttributeVerified:  # a fresh event each time
        return claim(COUNCIL, resident, "address", ADDRESS, "medium", "council_tax_record")

    # Forged origin: unsigned, tampered, unknown key, another source's key, revoked key.
    forged["unsigned"] = (address(), None, False, "unsigned")
    forged["badly signed"] = (address(), keys[COUNCIL], True, "bad_signature")
    stranger = SigningKey.generate(f"{COUNCIL}#never-registered")
    forged["unknown key"] = (address(), stranger, False, "unknown_key")
    claims_wirral = claim(
        WIRRAL_SOURCE, resident, "address", ADDRESS, "medium", "council_tax_record"
    )
    forged["claiming another source"] = (claims_wirral, keys[COUNCIL], False, "signer_not_source")
    rotated = await registry.rotate(settings, COUNCIL)
    rotated_key = SigningKey.from_file(rotated.path, rotated.key_id)
    # Signed with the new key before its revocation: it verifies, live and in replay.
    name = {"given_names": "Ada", "family_name": "Lovelace"}
    before_revocation = claim(COUNCIL, resident, "full_name", name, "medium", "council_tax_record")
    await sender.send(before_revocation, rotated_key)
    revoked = await registry.revoke(settings, COUNCIL, rotated.key_id)
    assert revoked.revoked_at is not None
    await asyncio.sleep(
        max(0.0, (revoked.revoked_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5
    )
    forged["revoked key"] = (address(), rotated_key, False, "revoked_key")
    for event, key, tamper, _ in forged.values():
        await sender.send(event, key, tamper=tamper)
    return forged, before_revocation, rotated.key_id


def _forbidden_by_role(keys: dict[str, SigningKey], resident: str, other: str) -> Forged:
    """Forged cases each correctly signed by a registered council whose role forbids them."""
    consent_from_council = build.consent_granted(
        source=COUNCIL,
        resident=other,
        authority=LIVERPOOL,
        attributes=["address"],
        purpose="council_tax",
        local_reference="LIV-1",
        now=now(),
    )
    withdrawal_for_another = build.consent_withdrawn(
        source=COUNCIL, resident=resident, authority=WIRRAL, attributes="all", now=now()
    )
    death = {"date": "2026-11-01"}
    death_from_council = claim(
        COUNCIL, resident, "date_of_death", death, "very_high", "death_registration"
    )
    return {
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


async def _send_legitimate(sender: Sender, keys: dict[str, SigningKey], resident: str) -> Legit:
    """A council's address, a registrar's date of death, and a council's email sent through
    the gateway, which vouches for it with its own key: each claim's id, by attribute, with
    the key (and voucher) its audit records must name."""
    council_address = claim(COUNCIL, resident, "address", ADDRESS, "medium", "council_tax_record")
    vouched = claim(COUNCIL, resident, "email", "a@example.org", "medium", "confirmation_link")
    death = {"date": "2026-11-01"}
    registered = claim(
        REGISTRAR, resident, "date_of_death", death, "very_high", "death_registration"
    )
    await sender.send(council_address, keys[COUNCIL])
    await sender.send(registered, keys[REGISTRAR])
    await sender.send(vouched, keys[GATEWAY])
    return {
        "address": (council_address.id, keys[COUNCIL].key_id, None),
        "date_of_death": (registered.id, keys[REGISTRAR].key_id, None),
        "email": (vouched.id, keys[GATEWAY].key_id, GATEWAY),
    }


async def _check_deliveries_and_signers(
    settings: Settings, audit: list[schemas.AuditRecorded], legit: Legit, forged_ids: set[str]
) -> None:
    """Only the legitimate claims are delivered, only to Wirral, and their audit records name
    the key that proved each (and the gateway that vouched)."""
    ids = {claim_id for claim_id, *_ in legit.values()}
    deliveries = await events_of(settings, Topics(settings.topic_prefix).deliveries(WIRRAL), 3)
    updated = [e for e in deliveries if isinstance(e, schemas.ProfileUpdated)]
    assert sorted(str(e.data.attribute) for e in updated) == ["address", "date_of_death", "email"]
    assert {e.data.provenance.claim_id for e in updated if e.data.provenance} == ids
    assert not [e for e in deliveries if isinstance(e, schemas.ConsentEnded)]
    delivered = {r.data.event_id for r in audit if r.data.decision == "delivered"}
    assert not delivered & forged_ids
    assert not [
        r for r in audit if r.data.authority == LIVERPOOL and r.data.decision == "delivered"
    ]
    signed = {
        r.data.event_id: (r.data.signed_with, r.data.vouched_by)
        for r in audit
        if r.data.event_id in ids
    }
    assert signed == {claim_id: (key, voucher) for claim_id, key, voucher in legit.values()}


async def _check_holdings(settings: Settings, resident: str, other: str, legit: Legit) -> None:
    """No forged event is in any live profile: the forged consent made no profile, and Wirral
    holds exactly the legitimate claims (nor the low email a forged change would let in)."""
    profiles = await live(settings)
    assert {resident, other} & set(profiles) == {resident}
    holdings = profiles[resident].holdings
    assert set(holdings) == {WIRRAL}
    assert dict(holdings[WIRRAL].values) == {name: v[0] for name, v in legit.items()}


async def _check_dead_letters(settings: Settings, forged: Forged) -> None:
    """Each forged record is dead-lettered once, with its reason (matched by event id)."""
    dead = await records_of(settings, Topics(settings.topic_prefix).deadletter, len(forged))
    reasons: dict[str, list[str]] = defaultdict(list)
    for record in dead:
        reason = dict(record.headers)["rps.dlq.reason"].decode()
        reasons[schemas.decode(record.value).id].append(reason)
    assert {case: reasons.get(v[0].id) for case, v in forged.items()} == {
        case: [v[3]] for case, v in forged.items()
    }


async def _check_subscription_refusals(
    settings: Settings, audit: list[schemas.AuditRecorded], subscriptions: Forged
) -> None:
    """Each refused subscription change has one audit record, filed under the authority it
    names, naming its sender and reason; `rps audit show WIRRAL` lists Wirral's; and the
    registrar's change made no delivery topic (it never entered the directory)."""
    wirral = set()
    for event, *_, reason in subscriptions.values():
        assert isinstance(event, schemas.SubscriptionChanged)
        (record,) = [r for r in audit if r.data.event_id == event.id]
        assert record.subject == record.data.authority == event.data.authority
        assert (record.data.decision, record.data.reason) == ("rejected", reason)
        assert (record.data.event_source, record.data.attribute) == (
            event.source,
            event.data.attribute,
        )
        if event.data.authority == WIRRAL:
            wirral.add((event.id, "rejected", reason, event.source))
    shown = json.loads(audit_show(settings, WIRRAL))
    assert shown["authority"] == WIRRAL
    assert {
        (d["event_id"], d["decision"], d["reason"], d["reported_by"]) for d in shown["decisions"]
    } == wirral
    topics = Topics(settings.topic_prefix)
    assert await partitions_of(settings, topics.deliveries(REGISTRAR)) == []
