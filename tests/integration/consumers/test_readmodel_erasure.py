"""The read model forgets an erased resident, in whatever order a rebuild reads the topics,
keeps what came after, and leaves every other resident as it was; on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from consumers._database import create_engine
from consumers.readmodel import ReadModel, export
from consumers.readmodel._facts import AuditSeen, Fact
from consumers.readmodel._store import ReadModelStore
from tests.integration.consumers.test_readmodel_store import FACTS, NOW, RESIDENT, T0, _claim

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OTHER = "0b7e3d1c-4a5f-4e2d-8c9b-1a2b3c4d5e6f"
ERASURE = AuditSeen(
    event_id="audit-erased",
    subject=RESIDENT,
    recorded_at=T0 + timedelta(hours=5),
    decision="erased",
    reason="resident_request",
    input_event_id="erase:1",
    event_type="uk.gov.rps.control.erase.v1",
    event_source="urn:org:rps-hub",
    attribute=None,
    authority=None,
    claim_id=None,
    assurance=None,
    decision_id=None,
    version=None,
    topic="rps.audit.v1",
    partition=0,
    offset=9,
)
OTHERS: list[Fact] = [replace(_claim("other-claim", 1, "others-value"), resident=OTHER)]
LATER = _claim("claim-after", 6, "after")


@pytest.fixture
async def read_store(backend_url: str) -> AsyncIterator[ReadModelStore]:
    store = ReadModelStore(create_engine(backend_url))
    await store.prepare()
    yield store
    await store.close()


@pytest.mark.parametrize("erasure_first", [False, True])
async def test_an_erased_resident_is_forgotten_whatever_the_order(
    read_store: ReadModelStore, erasure_first: bool
) -> None:
    """Facts from before the erasure are gone (read before or after it), one from after stays,
    the history keeps the erasure, and the other resident keeps everything."""
    facts = [ERASURE, *FACTS, *OTHERS, LATER] if erasure_first else [*FACTS, *OTHERS]
    await read_store.write(facts, {})
    if not erasure_first:
        await read_store.write([ERASURE, LATER], {})
    model = ReadModel(read_store.engine)
    document = await export(model, RESIDENT, NOW)
    assert [c["claim_id"] for c in document["claims"]] == ["claim-after"]
    assert [(p["attribute"], p["value"]) for p in document["profile"]] == [("address", "after")]
    assert document["consents"] == []
    assert [e["reason"] for e in document["erasures"]] == ["resident_request"]
    assert "old" not in str(document["claims"])
    other = await export(model, OTHER, NOW)
    assert [c["value"] for c in other["claims"]] == ["others-value"]
    assert RESIDENT not in str(other)
