"""Schema-valid events at the edges of the contracts go through every consumer's apply path,
on SQLite and PostgreSQL, and no exception escapes but a classified ``PoisonRecord``."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers._database import create_engine
from consumers._wire import to_delivery
from consumers.errors import PoisonRecord
from consumers.readmodel import ReadModel
from consumers.readmodel._facts import Fact
from consumers.readmodel._store import ReadModelStore
from consumers.readmodel._wire import Sealed, opened_fact, to_fact
from consumers.subscriber import open_store
from rps.settings import Settings
from schemas import AttributeVerified, Event, encode
from schemas.extreme_strategies import extreme_deliveries, extreme_events
from schemas.topics import Topics
from tests.unit.consumers.events import AUTHORITY, record

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
TOPICS = Topics("rps")
REFERENCES = st.sampled_from(("R" * 64, "LCC-1"))
EXAMPLES = settings(
    max_examples=int(os.environ.get("RPS_EXTREME_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _through_the_subscriber(
    db_url: str, events: list[Event], *, retain: bool, batched: bool = False
) -> None:
    """Each delivery applied in its own transaction (or all in one batch), then read back;
    with ``retain``, values whose consent ended are kept for a day and then purged."""
    store = open_store(db_url, Settings(subscriber_retention_days=1 if retain else 0))
    try:
        await store.prepare()
        deliveries = []
        for offset, event in enumerate(events):
            try:
                deliveries.append(to_delivery(record(encode(event), offset=offset), AUTHORITY))
            except PoisonRecord:
                continue
        for batch in [deliveries] if batched else [[d] for d in deliveries]:
            async with store.unit() as unit:
                await unit.apply_all(batch, NOW)
        await store.holdings(with_values=True)
        await store.history()
        await store.pending_acks()
        await store.purge_expired(NOW + timedelta(days=2))
    finally:
        await store.close()


def _topic(event: Event) -> str | None:
    """Where the read model finds an event of this type (None: it does not read that type)."""
    kind = event.type.removeprefix("uk.gov.rps.").rsplit(".", 2)[0]
    return (
        {
            "attribute": TOPICS.attributes,
            "consent": TOPICS.consents,
            "audit": TOPICS.audit,
            "delivery": TOPICS.acknowledgements,
        }.get(kind)
        if event.type != "uk.gov.rps.consent.ended.v1"
        else None
    )


async def _through_the_read_model(db_url: str, events: list[Event]) -> None:
    store = ReadModelStore(create_engine(db_url))
    try:
        await store.prepare()
        for offset, event in enumerate(events):
            topic = _topic(event)
            if topic is None:
                continue
            fact: Fact | None
            if topic in (TOPICS.attributes, TOPICS.consents):  # as opened from the facts log
                fact = opened_fact(encode(event), [])
            else:
                try:
                    read = to_fact(record(encode(event), topic=topic, offset=offset), TOPICS)
                except PoisonRecord:
                    continue
                assert not isinstance(read, Sealed)
                fact = read
            if fact is not None:
                await store.write([fact], {(topic, 0): offset + 1})
        model = ReadModel(store.engine)
        for event in events:
            await model.resident(event.subject, NOW)
            if isinstance(event, AttributeVerified):
                for level in range(4):
                    await model.visible_to(
                        event.subject, event.data.attribute.value, level, AUTHORITY
                    )
    finally:
        await store.close()


@EXAMPLES
@given(st.lists(extreme_deliveries(AUTHORITY, REFERENCES), min_size=1, max_size=12), st.booleans())
def test_extreme_deliveries_apply_in_the_subscriber(
    backend_url: str, events: list[Event], retain: bool
) -> None:
    """Deliveries at the edges apply, read back and are purged in the authority's database."""
    asyncio.run(_through_the_subscriber(backend_url, events, retain=retain))


@EXAMPLES
@given(st.lists(extreme_deliveries(AUTHORITY, REFERENCES), min_size=1, max_size=12), st.booleans())
def test_extreme_deliveries_apply_in_the_subscriber_as_one_batch(
    backend_url: str, events: list[Event], retain: bool
) -> None:
    """The same deliveries applied together, in one transaction's set-based statements."""
    asyncio.run(_through_the_subscriber(backend_url, events, retain=retain, batched=True))


@EXAMPLES
@given(st.lists(extreme_events(), min_size=1, max_size=12))
def test_extreme_events_apply_in_the_read_model(backend_url: str, events: list[Event]) -> None:
    """Claims, consents, audit records and acknowledgements at the edges apply and read back."""
    asyncio.run(_through_the_read_model(backend_url, events))
