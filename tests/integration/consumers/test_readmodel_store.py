"""The hub's read model keeps each fact once and answers a resident's view, on both databases."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from consumers._database import create_engine
from consumers.readmodel import ReadModel, ResidentView
from consumers.readmodel._facts import (
    AckSeen,
    AuditSeen,
    ClaimSeen,
    Fact,
    GrantSeen,
    RetractionSeen,
    WithdrawalSeen,
)
from consumers.readmodel._store import ReadModelStore

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

RESIDENT = "7d3c6a0e-2f4b-4f0e-9a51-3c1d2e4f5a6b"
T0 = datetime(2025, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _claim(claim_id: str, hours: int, value: str) -> ClaimSeen:
    return ClaimSeen(
        claim_id=claim_id,
        resident=RESIDENT,
        attribute="address",
        source="urn:gss:E08000015",
        assurance="medium",
        method="council_tax_record",
        verified_at=T0 + timedelta(hours=hours),
        value_json=f'"{value}"',
    )


def _audit(event_id: str, decision: str, decision_id: str | None, offset: int) -> AuditSeen:
    return AuditSeen(
        event_id=event_id,
        subject=RESIDENT,
        recorded_at=T0 + timedelta(minutes=offset),
        decision=decision,
        reason="no_consent" if decision == "withheld" else None,
        input_event_id="claim-new",
        event_type="uk.gov.rps.attribute.verified.v1",
        event_source="urn:gss:E08000015",
        attribute="address",
        authority="E08000012",
        claim_id="claim-new",
        assurance="medium",
        decision_id=decision_id,
        version=1 if decision_id else None,
        topic="rps.audit.v1",
        partition=0,
        offset=offset,
    )


FACTS: list[Fact] = [
    _claim("claim-old", 1, "old"),
    _claim("claim-new", 2, "new"),
    RetractionSeen(
        "retract-1", RESIDENT, "claim-new", "address", "urn:org:dwp", "mistyped", T0
    ),  # not the claim's publisher: inert
    GrantSeen(
        "grant-1", RESIDENT, "E08000012", ("address", "email"), "council_tax", "LCC-1", None, T0
    ),
    WithdrawalSeen("withdraw-1", RESIDENT, "E08000012", ("email",), T0 + timedelta(hours=1)),
    _audit("audit-1", "delivered", "dec-1", 1),
    _audit("audit-2", "withheld", None, 2),
    AckSeen("ack-1", "E08000012", "dec-1", "LCC-1", T0 + timedelta(minutes=5)),
]


@pytest.fixture
async def read_store(backend_url: str) -> AsyncIterator[ReadModelStore]:
    """The read model's store on a fresh database, migrated."""
    store = ReadModelStore(create_engine(backend_url))
    await store.prepare()
    yield store
    await store.close()


async def _view(store: ReadModelStore) -> ResidentView:
    return await ReadModel(store.engine).resident(RESIDENT, NOW)


async def test_a_residents_view_joins_profile_consents_and_acknowledged_history(
    read_store: ReadModelStore,
) -> None:
    """Profile, consents and the delivery history with its acknowledgement come back together."""
    await read_store.write(FACTS, {("rps.audit.v1", 0): 3})
    view = await _view(read_store)
    assert [(p.attribute, p.value) for p in view.profile] == [("address", "new")]
    (consent,) = view.consents
    assert (consent.status, consent.allowed) == ("partly_withdrawn", ("address",))
    assert [(d.decision, d.acknowledged_at) for d in view.history] == [
        ("delivered", T0 + timedelta(minutes=5)),
        ("withheld", None),
    ]
    assert await read_store.positions() == {("rps.audit.v1", 0): 3}


async def test_a_retraction_by_the_publisher_brings_back_the_older_claim(
    read_store: ReadModelStore,
) -> None:
    """When Wirral retracts its newer claim, the profile shows the older one again."""
    await read_store.write(FACTS, {})
    retraction = RetractionSeen(
        "retract-2", RESIDENT, "claim-new", "address", "urn:gss:E08000015", "mistyped", T0
    )
    await read_store.write([retraction], {})
    assert [p.value for p in (await _view(read_store)).profile] == ["old"]


@pytest.mark.parametrize("order", [0, 1, 2])
async def test_the_view_is_the_same_whatever_the_order_and_repetition(
    backend_url: str, order: int
) -> None:
    """Facts written in another order, some twice, in several batches, give the same view."""
    arrangements = list(itertools.islice(itertools.permutations(FACTS), 0, 5000, 1700))
    arranged = list(arrangements[order]) + FACTS[order::3]
    store = ReadModelStore(create_engine(backend_url))
    await store.prepare()
    try:
        for start in range(0, len(arranged), 3):
            await store.write(arranged[start : start + 3], {})
        shuffled = await _view(store)
        await store.empty()
        await store.write(FACTS, {})
        assert shuffled == await _view(store)
    finally:
        await store.close()


async def test_emptying_leaves_nothing_behind(read_store: ReadModelStore) -> None:
    """``empty`` removes every fact and every position, ready for a rebuild."""
    await read_store.write(FACTS, {("rps.attributes.v1", 0): 9})
    await read_store.empty()
    view = await _view(read_store)
    assert (view.profile, view.consents, view.history) == ((), (), ())
    assert await read_store.positions() == {}
