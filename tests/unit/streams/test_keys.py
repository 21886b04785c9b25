"""The worker's data keys: the key store out of reach is waited out, never an error that would
stop the worker, and an erasure drops the cached key with the stored one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

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

    async def get_many(self, residents: Iterable[str]) -> dict[str, DataKey]:
        self._reach()
        return {r: self.keys[r] for r in residents if r in self.keys}

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


class Counted(Flaky):
    """A key store that counts its reads of many keys, and can hold them until released."""

    def __init__(self) -> None:
        super().__init__(down=0)
        self.reads: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.dropping = asyncio.Event()
        self.dropping.set()

    async def get_many(self, residents: Iterable[str]) -> dict[str, DataKey]:
        self.reads.append(list(residents))
        found = await super().get_many(self.reads[-1])
        await self.release.wait()
        return found

    async def forget(self, resident: str) -> bool:
        await self.dropping.wait()
        return await super().forget(resident)


async def test_a_batch_s_keys_are_read_ahead_in_one_go() -> None:
    """Reading ahead asks the store once for every resident not cached or already being
    read; deciding each input then finds its key without asking the store again."""
    store = Counted()
    store.keys = {f"r-{n}": new_data_key() for n in range(4)}
    keys = CachedKeys(Settings(), store)
    keys.read_ahead(["r-0", "r-1", "r-0", "r-9"])
    keys.read_ahead(["r-1", "r-2"])
    for n in range(3):
        assert await keys.key_for(f"r-{n}", create=True) is store.keys[f"r-{n}"]
    assert store.reads == [["r-0", "r-1", "r-9"], ["r-2"]]
    assert store.calls == 2  # the two reads ahead, nothing per input
    keys.read_ahead(["r-0", "r-1", "r-2"])  # all cached: nothing asked
    assert len(store.reads) == 2


async def test_a_failed_read_ahead_leaves_each_input_to_ask_again() -> None:
    """The store out of reach during a read ahead: no error, and the input's look-up asks."""
    store = Flaky(down=1)
    store.keys = {"r-1": new_data_key()}
    keys = CachedKeys(Settings(), store)
    keys.read_ahead(["r-1"])
    assert await keys.key_for("r-1", create=False) is store.keys["r-1"]
    assert store.calls == 2


async def test_a_read_ahead_overlapping_an_erasure_never_brings_the_key_back() -> None:
    """A read ahead that began before the key was forgotten (and answered with it) is
    dropped: the resident's key is asked for afresh, and it is gone."""
    store = Counted()
    store.keys = {"r-1": new_data_key()}
    store.release.clear()
    keys = CachedKeys(Settings(), store)
    keys.read_ahead(["r-1"])
    await asyncio.sleep(0)  # the read has the key and waits
    forgetting = asyncio.create_task(keys.forget("r-1"))
    await asyncio.sleep(0)
    store.release.set()
    await forgetting
    assert store.keys == {}
    assert await keys.key_for("r-1", create=False) is None


async def test_a_read_ahead_begun_while_a_key_is_dropped_never_brings_it_back() -> None:
    """A read ahead that began while the key store was dropping the key (and still saw it)
    is dropped too."""
    store = Counted()
    store.keys = {"r-1": new_data_key()}
    store.dropping.clear()
    keys = CachedKeys(Settings(), store)
    forgetting = asyncio.create_task(keys.forget("r-1"))
    await asyncio.sleep(0)
    keys.read_ahead(["r-1"])
    await asyncio.sleep(0)  # the read saw the key, before the drop
    assert store.reads == [["r-1"]]
    store.dropping.set()
    await forgetting
    assert store.keys == {}
    assert await keys.key_for("r-1", create=False) is None
