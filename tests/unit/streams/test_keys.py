"""The worker's data keys: the key store out of reach is waited out, never an error that would
stop the worker, and an erasure drops the cached key with the stored one."""

from __future__ import annotations

import pytest
import stamina

from rps.keystore import KeyStoreUnavailable
from rps.sealing import DataKey, new_data_key
from rps.settings import Settings
from streams.worker.keys import CachedKeys

pytestmark = pytest.mark.asyncio


class Flaky:
    """A key store that is unavailable for its first ``down`` calls, then answers."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.calls = 0
        self.keys: dict[str, DataKey] = {}

    def _reach(self) -> None:
        self.calls += 1
        if self.calls <= self.down:
            raise KeyStoreUnavailable("the key store is unreachable")

    async def get_or_create(self, resident: str) -> DataKey:
        self._reach()
        return self.keys.setdefault(resident, new_data_key())

    async def get(self, resident: str) -> DataKey | None:
        self._reach()
        return self.keys.get(resident)

    async def forget(self, resident: str) -> bool:
        self._reach()
        return self.keys.pop(resident, None) is not None

    async def rotate_master(self) -> int:
        return 0


async def test_a_key_store_out_of_reach_is_waited_out() -> None:
    """Unavailable for longer than the store's own retries: the worker tries again until it
    answers, and gets the key; forgetting waits the same way."""
    store = Flaky(down=6)
    keys = CachedKeys(Settings(), store)
    with stamina.set_testing(True, attempts=50):
        key = await keys.key_for("r-1", create=True)
        assert key is not None
        assert store.calls == 7
        assert await keys.key_for("r-1", create=True) is key  # cached: the store not asked
        assert store.calls == 7
        store.down = 10
        await keys.forget("r-1")
    assert store.calls == 11
    assert store.keys == {}
    assert await keys.key_for("r-1", create=False) is None  # the cached key went too
