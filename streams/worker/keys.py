"""The residents' data keys as the worker uses them: the hub's key store, cached.

The key store (``rps.keystore``) is opened on first use. Keys are cached in
memory (a bounded, least-recently-used map) so the per-event path costs a
dictionary look-up; an erasure drops the cached key with the stored one.
"""

from __future__ import annotations

from collections import OrderedDict

from rps.keystore import KeyStore, SqlKeyStore
from rps.sealing import DataKey
from rps.settings import Settings

_CACHED = 100_000


class CachedKeys:
    """:class:`streams.worker.ports.DataKeys` over the hub's key store."""

    def __init__(self, settings: Settings, store: KeyStore | None = None) -> None:
        self._settings = settings
        self._store = store
        self._cache: OrderedDict[str, DataKey] = OrderedDict()

    async def _keys(self) -> KeyStore:
        if self._store is None:
            self._store = await SqlKeyStore.open(self._settings)
        return self._store

    async def key_for(self, resident: str, *, create: bool) -> DataKey | None:
        key = self._cache.get(resident)
        if key is not None:
            self._cache.move_to_end(resident)
            return key
        store = await self._keys()
        key = await (store.get_or_create(resident) if create else store.get(resident))
        if key is not None:
            self._cache[resident] = key
            if len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        return key

    async def forget(self, resident: str) -> None:
        self._cache.pop(resident, None)
        await (await self._keys()).forget(resident)
