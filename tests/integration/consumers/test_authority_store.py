"""The authority repository's one contract, proved on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from consumers._apply import Delivery, Outcome
from consumers._database import create_engine, migrate
from consumers._repository import AuthorityStore
from consumers._sql_store import SqlAuthorityStore
from consumers._tables import metadata as subscriber_metadata
from consumers.readmodel._tables import metadata as readmodel_metadata
from tests.unit.consumers.strategies import _ending, _update

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
TOPIC = "rps.deliveries.E08000012.v1"


async def _apply(store: AuthorityStore, *items: Delivery) -> list[Outcome]:
    async with store.unit() as unit:
        return [await unit.apply(item, NOW) for item in items]


async def _values(store: AuthorityStore) -> dict[str, object]:
    return {h.attribute: h.value for h in await store.holdings(with_values=True)}


async def test_an_update_is_held_with_its_version(authority_store: SqlAuthorityStore) -> None:
    """A profile update becomes the current value of its reference and attribute."""
    assert await _apply(authority_store, _update(1, "address", '"17 Hamilton Sq"')) == [
        Outcome.APPLIED
    ]
    (held,) = await authority_store.holdings(with_values=True)
    assert (held.attribute, held.version, held.value) == ("address", 1, "17 Hamilton Sq")


async def test_a_redelivery_changes_nothing(authority_store: SqlAuthorityStore) -> None:
    """The same decision twice is applied once and recorded in history once."""
    delivery = _update(1, "address", '"a"')
    assert await _apply(authority_store, delivery) == [Outcome.APPLIED]
    assert await _apply(authority_store, delivery) == [Outcome.DUPLICATE]
    assert [h.decision_id for h in await authority_store.history()] == ["dec-1"]


async def test_an_older_version_never_overwrites_a_newer_one(
    authority_store: SqlAuthorityStore,
) -> None:
    """Version 3 arriving after version 5 is recorded as stale and the version-5 value stays."""
    outcomes = await _apply(
        authority_store, _update(5, "address", '"new"'), _update(3, "address", '"old"')
    )
    assert outcomes == [Outcome.APPLIED, Outcome.STALE]
    assert await _values(authority_store) == {"address": "new"}
    stale = (await authority_store.history())[1]
    assert (stale.outcome, stale.has_value) == ("stale", False)


async def test_consent_ended_deletes_the_values_and_their_history_values(
    authority_store: SqlAuthorityStore,
) -> None:
    """consent.ended removes the held values and blanks earlier values kept in history."""
    await _apply(authority_store, _update(1, "address", '"a"'), _update(2, "email", '"e"'))
    assert await _apply(authority_store, _ending(3, ("address", "email"))) == [Outcome.DELETED]
    assert await authority_store.holdings() == []
    history = await authority_store.history()
    assert [(h.kind, h.outcome, h.has_value) for h in history] == [
        ("updated", "applied", False),
        ("updated", "applied", False),
        ("consent_ended", "deleted", False),
    ]


async def test_an_older_update_after_consent_ended_does_not_resurrect(
    authority_store: SqlAuthorityStore,
) -> None:
    """An update decided before the consent ended, arriving after it, is stale."""
    await _apply(authority_store, _ending(4, ("address",)))
    assert await _apply(authority_store, _update(2, "address", '"late"')) == [Outcome.STALE]
    assert await authority_store.holdings() == []
    assert await _apply(authority_store, _update(5, "address", '"again"')) == [Outcome.APPLIED]
    assert await _values(authority_store) == {"address": "again"}


async def test_a_null_value_clears_the_current_value_and_keeps_history(
    authority_store: SqlAuthorityStore,
) -> None:
    """``value: null`` removes the value; history keeps both decisions."""
    await _apply(authority_store, _update(1, "email", '"e"'), _update(2, "email", None))
    assert await authority_store.holdings() == []
    assert [h.outcome for h in await authority_store.history()] == ["applied", "cleared"]


async def test_a_retention_period_keeps_values_until_it_passes(backend_url: str) -> None:
    """With a retention period the values stay, marked, until purge passes the deadline."""
    store = SqlAuthorityStore(create_engine(backend_url), retention=timedelta(days=30))
    await store.prepare()
    try:
        await _apply(store, _update(1, "address", '"a"'))
        assert await _apply(store, _ending(2, ("address",))) == [Outcome.RETAINED]
        (kept,) = await store.holdings()
        assert kept.retain_until == NOW + timedelta(days=30)
        assert await store.purge_expired(NOW + timedelta(days=29)) == 0
        assert await store.purge_expired(NOW + timedelta(days=31)) == 1
        assert await store.holdings() == []
        assert not (await store.history())[0].has_value
    finally:
        await store.close()


async def test_positions_are_saved_with_the_writes_or_not_at_all(
    authority_store: SqlAuthorityStore,
) -> None:
    """A unit of work that fails keeps neither its deliveries nor its position."""
    with pytest.raises(RuntimeError):
        await _fail_mid_unit(authority_store)
    assert await authority_store.holdings() == []
    assert await authority_store.positions(TOPIC) == {}
    async with authority_store.unit() as unit:
        await unit.apply(_update(1, "address", '"a"'), NOW)
        await unit.save_position(TOPIC, 0, 1)
    async with authority_store.unit() as unit:
        await unit.save_position(TOPIC, 0, 7)
    assert await authority_store.positions(TOPIC) == {0: 7}


async def _fail_mid_unit(store: AuthorityStore) -> None:
    async with store.unit() as unit:
        await unit.apply(_update(1, "address", '"a"'), NOW)
        await unit.save_position(TOPIC, 0, 1)
        raise RuntimeError("crash before commit")


async def test_history_is_the_outbox_of_acknowledgements(
    authority_store: SqlAuthorityStore,
) -> None:
    """Every recorded decision is pending until marked acknowledged, then no longer."""
    await _apply(authority_store, _update(1, "address", '"a"'), _ending(2, ("email",)))
    pending = await authority_store.pending_acks()
    assert [p.decision_id for p in pending] == ["dec-1", "dec-2"]
    await authority_store.mark_acked(["dec-1"], NOW)
    assert [p.decision_id for p in await authority_store.pending_acks()] == ["dec-2"]


async def test_holdings_show_values_only_when_asked(authority_store: SqlAuthorityStore) -> None:
    """Without ``with_values`` the holdings carry provenance and no value."""
    await _apply(authority_store, _update(1, "address", '"a"'))
    (bare,) = await authority_store.holdings()
    assert bare.value is None
    assert bare.decision_id == "dec-1"


@pytest.mark.parametrize(
    ("schema", "metadata"), [("subscriber", subscriber_metadata), ("readmodel", readmodel_metadata)]
)
async def test_migrations_build_exactly_the_tables_the_code_uses(
    backend_url: str, schema: str, metadata: MetaData
) -> None:
    """Upgrading an empty database yields the tables the code declares, with no drift."""
    engine = create_engine(backend_url)
    try:
        await migrate(engine, schema)  # type: ignore[arg-type]

        def drift(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection)
            return [
                change
                for change in compare_metadata(context, metadata)
                if not (
                    change[0] == "remove_table" and change[1].name.startswith("alembic_version")
                )
                and not (change[0] == "remove_table" and change[1].name not in metadata.tables)
            ]

        async with engine.connect() as connection:
            assert await connection.run_sync(drift) == []
    finally:
        await engine.dispose()
