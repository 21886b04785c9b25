"""Replay and the read model read the keys of a batch's residents in one go, not one by one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

import pytest

from consumers.readmodel._opening import Opener
from consumers.readmodel._wire import Sealed
from rps.keystore import SqlKeyStore
from rps.sealing import DataKey, new_data_key, seal
from streams.operators.rebuilding import _Keys
from streams.worker import facts_log

pytestmark = pytest.mark.asyncio


class Counted:
    """A key store that answers from a dict and counts how it was asked."""

    def __init__(self, keys: dict[str, DataKey]) -> None:
        self.keys = keys
        self.one_by_one = 0
        self.batches: list[set[str]] = []

    async def get(self, resident: str) -> DataKey | None:
        self.one_by_one += 1
        return self.keys.get(resident)

    async def get_many(self, residents: Iterable[str]) -> dict[str, DataKey]:
        self.batches.append(set(residents))
        return {r: self.keys[r] for r in self.batches[-1] if r in self.keys}


def _sealed(resident: str, key: DataKey, n: int) -> Sealed:
    content: dict[str, Any] = {"h": [], "v": "{}"}
    envelope = seal(key, content, resident, f"fact|e{n}")
    fact = facts_log.LoggedFact(
        f"e{n}", resident, "rps.attributes.v1", 0, envelope, decided_at=dt.datetime.now(dt.UTC)
    )
    return Sealed(fact, 0, n)


async def test_replay_reads_each_resident_s_key_once_a_batch_at_a_time() -> None:
    store = Counted({"r-1": new_data_key(), "r-2": new_data_key()})
    keys = _Keys(cast(SqlKeyStore, store))
    await keys.read(["r-1", "r-2", "r-3", "r-1"])
    await keys.read(["r-2", "r-4"])
    assert await keys.of("r-1") is store.keys["r-1"]
    assert await keys.of("r-3") is None  # forgotten or never made: asked once, remembered
    assert store.batches == [{"r-1", "r-2", "r-3"}, {"r-4"}]
    assert store.one_by_one == 0


async def test_the_read_model_opens_a_batch_with_one_read_of_its_keys() -> None:
    store = Counted({"r-1": new_data_key(), "r-2": new_data_key()})
    opener = Opener(cast(SqlKeyStore, store))
    residents = ["r-1", "r-2", "r-1", "r-3"]
    items = [_sealed(r, store.keys.get(r) or new_data_key(), n) for n, r in enumerate(residents)]
    await opener.open(items)
    opener.committed()
    assert store.batches == [{"r-1", "r-2", "r-3"}]
    assert store.one_by_one == 0
    assert opener.forgotten == 1  # r-3's key is gone: its record does not open
