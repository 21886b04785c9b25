"""A local reference belongs to one resident: a second resident can never capture its record.

Two residents give one authority the same reference. The first delivery binds
the reference to the first resident's pseudonym; the second resident's
deliveries (an update, then consent.ended) are kept aside as conflicts and
acknowledged with status ``conflict``; the first resident's record stays intact
and current. Proved on SQLite and PostgreSQL, and once through the real broker.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers._apply import Ending, Outcome, Update
from consumers._sql_store import SqlAuthorityStore
from consumers.subscriber import history, holdings, open_store, subscribe
from rps.settings import Settings
from schemas import DeliveryApplied, decode
from tests.integration.consumers.conftest import KafkaIO
from tests.unit.consumers.events import (
    AUTHORITY,
    REFERENCE,
    SUBJECT,
    address,
    consent_ended,
    profile_updated,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
FIRST, SECOND = SUBJECT, "1b7e0c3d-2f4a-5b6c-8d9e-0f1a2b3c4d5e"


def _update(subject: str, version: int, value: str) -> Update:
    return Update(
        event_id=f"{subject}-{version}",
        subject=subject,
        decision_id=f"{subject}-{version}",
        version=version,
        local_reference=REFERENCE,
        attribute="address",
        value_json=value,
        provenance=None,
    )


def _ending(subject: str, version: int) -> Ending:
    return Ending(
        event_id=f"{subject}-{version}",
        subject=subject,
        decision_id=f"{subject}-{version}",
        version=version,
        local_reference=REFERENCE,
        attributes=("address",),
        reason="withdrawn",
    )


async def test_a_second_resident_with_the_same_reference_is_kept_aside(
    authority_store: SqlAuthorityStore,
) -> None:
    """The second resident's update and withdrawal are conflicts; the first's record stands."""
    async with authority_store.unit() as unit:
        outcomes = [
            await unit.apply(_update(FIRST, 1, '"first"'), NOW),
            await unit.apply(_update(SECOND, 5, '"second"'), NOW),
            await unit.apply(_ending(SECOND, 6), NOW),
            await unit.apply(_update(FIRST, 2, '"first, later"'), NOW),
        ]
    assert outcomes == [Outcome.APPLIED, Outcome.CONFLICT, Outcome.CONFLICT, Outcome.APPLIED]
    (held,) = await authority_store.holdings(with_values=True)
    assert (held.value, held.version) == ("first, later", 2)
    kept = await authority_store.conflicts()
    assert [(c.kind, c.subject, c.bound_subject) for c in kept] == [
        ("updated", SECOND, FIRST),
        ("consent_ended", SECOND, FIRST),
    ]
    statuses = {ack.subject + "/" + ack.status for ack in await authority_store.pending_acks()}
    assert statuses == {f"{FIRST}/applied", f"{SECOND}/conflict"}
    history_ = await authority_store.history()
    assert [(h.outcome, h.has_value) for h in history_ if h.decision_id.startswith(SECOND)] == [
        ("conflict", False),
        ("conflict", False),
    ]


async def test_a_reference_first_seen_in_an_ending_is_not_bound(
    authority_store: SqlAuthorityStore,
) -> None:
    """consent.ended with nothing held binds nothing: the next resident's update is applied."""
    async with authority_store.unit() as unit:
        assert await unit.apply(_ending(SECOND, 1), NOW) is Outcome.ENDED
        assert await unit.apply(_update(FIRST, 2, '"first"'), NOW) is Outcome.APPLIED
        assert await unit.apply(_update(SECOND, 3, '"second"'), NOW) is Outcome.CONFLICT


async def test_through_kafka_the_first_residents_record_survives_the_second_withdrawing(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """End to end: the first's record intact and current, the second's acks say conflict."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    await kafka_io.produce(topic, [profile_updated(1, address("Flat A"))], key=FIRST.encode())
    await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)
    await kafka_io.produce(
        topic,
        [
            profile_updated(1, address("Flat B"), subject=SECOND, decision_id="dec-second-1"),
            consent_ended(2, ["address"], subject=SECOND),
        ],
        key=SECOND.encode(),
    )
    await kafka_io.produce(topic, [profile_updated(3, address("Flat A2"))], key=FIRST.encode())
    await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)

    (held,) = await holdings(backend_url, with_values=True)
    assert (held.local_reference, held.version, held.value["lines"][0]) == (REFERENCE, 3, "Flat A2")
    outcomes = sorted((h.version, h.outcome) for h in await history(backend_url))
    assert outcomes == [(1, "applied"), (1, "conflict"), (2, "conflict"), (3, "applied")]
    store = open_store(backend_url)
    try:
        assert {c.subject for c in await store.conflicts()} == {SECOND}
    finally:
        await store.close()
    acks = [decode(r.value) for r in await kafka_io.read_all(kafka_io.topics.acknowledgements)]
    statuses = {
        (a.subject, a.data.decision_id, a.data.status)
        for a in acks
        if isinstance(a, DeliveryApplied)
    }
    assert {(s, status) for s, _, status in statuses} == {
        (FIRST, "applied"),
        (SECOND, "conflict"),
    }
    assert len(statuses) == 4
