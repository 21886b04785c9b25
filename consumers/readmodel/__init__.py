"""The hub's read model: each resident's profile, consents and full decision history in SQL.

``rps readmodel`` runs ``run_read_model``: it reads the facts log (claims,
retractions and consents, each opened with its resident's data key from the key
store, and erasures), the audit topic and the acknowledgements topic into the
hub's database (``RPS_DATABASE_URL``), each fact once, in the tables of
``consumers.readmodel._tables``. It is rebuildable: ``rebuild=True`` empties the
tables and reads every topic again from the beginning; the facts log is kept for
ever, so a rebuild recovers every claim and consent whose resident was not erased.
``open_read_model`` gives the queries the resident pages and operators use;
``export`` a resident's own copy of all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from consumers._database import create_engine
from consumers._runner import Positions, Runner, RunStats
from consumers.readmodel._export import export
from consumers.readmodel._merge import ConsentNow
from consumers.readmodel._opening import Opener
from consumers.readmodel._store import ReadModelStore
from consumers.readmodel._views import Decision, ProfileEntry, ReadModel, ResidentView
from consumers.readmodel._wire import Read, to_fact
from rps.keystore import SqlKeyStore
from rps.logs import get_logger
from rps.settings import Settings, redact_url
from schemas.topics import Topics

__all__ = [
    "ConsentNow",
    "Decision",
    "ProfileEntry",
    "ReadModel",
    "ResidentView",
    "RunStats",
    "export",
    "open_read_model",
    "run_read_model",
]

log = get_logger("consumers.readmodel")


class _ReadModelProjection:
    """The facts log, the audit and the acknowledgements into the read model's tables."""

    def __init__(self, settings: Settings, store: ReadModelStore, *, rebuild: bool) -> None:
        self._settings = settings
        self._names = Topics(settings.topic_prefix)
        self.topics: tuple[str, ...] = (
            self._names.facts,
            self._names.audit,
            self._names.acknowledgements,
        )
        self._store = store
        self._rebuild = rebuild
        self._keys: SqlKeyStore | None = None
        self.opener: Opener | None = None

    async def start(self, producer: AIOKafkaProducer) -> None:
        await self._store.prepare()
        if self._keys is None:
            self._keys = await SqlKeyStore.open(self._settings)
            self.opener = Opener(self._keys)
        if self._rebuild:
            await self._store.empty()
            log.info("read model emptied: rebuilding from the topics")

    async def positions(self) -> dict[tuple[str, int], int]:
        return await self._store.positions()

    def decode(self, record: Any) -> Read | None:
        return to_fact(record, self._names)

    async def write(self, items: Sequence[Read], positions: Positions, now: datetime) -> None:
        assert self.opener is not None, "started first"
        await self._store.write(await self.opener.open(items), positions)

    async def after_commit(self, producer: AIOKafkaProducer) -> None:
        if self.opener is not None:
            self.opener.committed()

    async def drain(self, producer: AIOKafkaProducer) -> None:
        return None

    async def idle(self, now: datetime) -> None:
        return None

    async def close(self) -> None:
        await self._store.close()
        if self._keys is not None:
            await self._keys.close()


async def run_read_model(
    settings: Settings,
    db_url: str | None = None,
    *,
    stop_at_end: bool = False,
    rebuild: bool = False,
) -> RunStats:
    """Keep the hub's read model up to date (``db_url`` defaults to ``settings.database_url``)."""
    url = db_url or settings.database_url.get_secret_value()
    log.info("read model starting", database=redact_url(url))
    store = ReadModelStore(create_engine(url))
    projection = _ReadModelProjection(settings, store, rebuild=rebuild)
    runner: Runner[Read] = Runner(
        settings, projection, group_id=group_id(settings), client_id="rps-readmodel"
    )
    stats = await runner.run(stop_at_end=stop_at_end)
    if projection.opener is not None:  # sealed records that did not open: not written
        passed = projection.opener.forgotten + projection.opener.unreadable
        stats.forgotten = projection.opener.forgotten
        stats.skipped += passed
        stats.written -= passed
        log.info(
            "facts log records passed by",
            forgotten_count=projection.opener.forgotten,
            unreadable_count=projection.opener.unreadable,
        )
    return stats


def group_id(settings: Settings) -> str:
    """``RPS_READMODEL_GROUP_ID``, or ``<topic_prefix>-readmodel``."""
    return settings.readmodel_group_id or f"{settings.topic_prefix}-readmodel"


async def open_read_model(db_url: str) -> ReadModel:
    """The read model's queries over ``db_url`` (migrated first, so an empty database works)."""
    store = ReadModelStore(create_engine(db_url))
    await store.prepare()
    return ReadModel(store.engine)
