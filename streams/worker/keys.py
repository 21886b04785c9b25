"""The residents' data keys as the worker uses them: the hub's key store, cached.

The key store (``rps.keystore``) is opened on first use. Keys are cached in
memory (a bounded, least-recently-used map) so the per-event path costs a
dictionary look-up; an erasure drops the cached key with the stored one.

The keys of a batch of inputs are read ahead, in one statement, as the batch is
fetched (:meth:`CachedKeys.read_ahead`), so a resident's first input in this
process finds its key waiting instead of costing a transaction of its own. Only
reads go ahead: a key is made only for an input being decided. A read ahead that
fails is only logged (the input's own look-up asks again), and one that overlaps
an erasure is dropped, so it never brings a forgotten key back.

The key store out of reach is a transient fault, never a reason to stop: each
operation is retried by the store itself (``RPS_KEYSTORE_ATTEMPTS`` within
``RPS_KEYSTORE_TIMEOUT_SECONDS``), and when it still reports the store
unavailable the worker waits and tries again (backing off to a try every 30 s)
for as long as it takes. The input in hand waits with it; nothing is decided,
sent or acked meanwhile, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import stamina

from rps.keystore import KeyStore, KeyStoreUnavailable, SqlKeyStore
from rps.logs import get_logger
from rps.sealing import DataKey
from rps.settings import Settings

log = get_logger("worker")

_CACHED = 100_000
_WAIT_MAX_SECONDS = 30.0
_T = TypeVar("_T")


class CachedKeys:
    """:class:`streams.worker.ports.DataKeys` over the hub's key store."""

    def __init__(self, settings: Settings, store: KeyStore | None = None) -> None:
        self._settings = settings
        self._store = store
        self._cache: OrderedDict[str, DataKey] = OrderedDict()
        self._reading: dict[str, asyncio.Future[None]] = {}  # resident -> its read ahead
        self._erasures = 0  # erasures begun: a read ahead that overlaps one is dropped

    async def _keys(self) -> KeyStore:
        if self._store is None:
            self._store = await SqlKeyStore.open(self._settings)
        return self._store

    def read_ahead(self, residents: Iterable[str]) -> None:
        """Start reading the keys of ``residents`` not cached or being read, in one go."""
        wanted = [
            r for r in dict.fromkeys(residents) if r not in self._cache and r not in self._reading
        ]
        if not wanted:
            return
        reading = asyncio.ensure_future(self._read(wanted, self._erasures))
        for resident in wanted:
            self._reading[resident] = reading

    async def _read(self, residents: list[str], erasures: int) -> None:
        try:
            found = await (await self._keys()).get_many(residents)
        except Exception as error:  # the input's own look-up asks again, patiently
            log.warning(
                "data keys not read ahead", count=len(residents), error_type=type(error).__name__
            )
            found = {}
        finally:
            for resident in residents:
                self._reading.pop(resident, None)
        if erasures == self._erasures:  # no erasure began meanwhile
            for resident, key in found.items():
                self._remember(resident, key)

    async def key_for(self, resident: str, *, create: bool) -> DataKey | None:
        reading = self._reading.get(resident)
        if reading is not None:
            await asyncio.shield(reading)
        key = self._cache.get(resident)
        if key is not None:
            self._cache.move_to_end(resident)
            return key

        async def fetch() -> DataKey | None:
            store = await self._keys()
            return await (store.get_or_create(resident) if create else store.get(resident))

        key = await _patiently(fetch)
        if key is not None:
            self._remember(resident, key)
        return key

    def _remember(self, resident: str, key: DataKey) -> None:
        self._cache[resident] = key
        self._cache.move_to_end(resident)
        if len(self._cache) > _CACHED:
            self._cache.popitem(last=False)

    async def forget(self, resident: str) -> None:
        self._erasures += 1
        reading = self._reading.get(resident)
        if reading is not None:
            await asyncio.shield(reading)
        self._cache.pop(resident, None)

        async def drop() -> bool:
            return await (await self._keys()).forget(resident)

        await _patiently(drop)
        self._erasures += 1  # a read ahead begun while it was dropped may have cached it
        self._cache.pop(resident, None)


async def _patiently(work: Callable[[], Awaitable[_T]]) -> _T:
    """``work``, tried again while the key store is unavailable, for as long as it takes."""
    async for attempt in stamina.retry_context(
        on=KeyStoreUnavailable, attempts=None, timeout=None, wait_max=_WAIT_MAX_SECONDS
    ):
        with attempt:
            try:
                return await work()
            except KeyStoreUnavailable:
                log.warning("key store unavailable; trying again", count=attempt.num)
                raise
    raise AssertionError("unreachable")  # pragma: no cover
