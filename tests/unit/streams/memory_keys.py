"""The residents' data keys held in memory: the worker's ``DataKeys`` port without a database."""

from __future__ import annotations

from dataclasses import dataclass, field

from rps.sealing import DataKey, new_data_key


@dataclass
class MemoryKeys:
    """One key per resident, made on first use; a forgotten key is gone, the next is newer."""

    keys: dict[str, DataKey] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    async def key_for(self, resident: str, *, create: bool) -> DataKey | None:
        if resident not in self.keys and create:
            version = self.versions.get(resident, 0) + 1
            self.versions[resident] = version
            self.keys[resident] = new_data_key(version)
        return self.keys.get(resident)

    async def forget(self, resident: str) -> None:
        self.keys.pop(resident, None)
