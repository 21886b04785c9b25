"""Where the processor keeps outbox entries and finds them again (the rule: ``outbox``).

Each entry is written under its own key (``entries``) and read back when its
input is seen again. Stores written before entries had keys of their own still
hold theirs inside first-format profiles and in each partition's chain head;
those are read too (migration-free), and a first-format profile's entries are
moved under their own keys when the profile is next written.
"""

from __future__ import annotations

from dataclasses import dataclass

from rps.sealing import DataKey
from streams.core import Erase, Input, Profile
from streams.worker import audit_chain, entries, stored
from streams.worker.outbox import Decision, Entry, Record, Write, again, kept
from streams.worker.ports import ProfileStore


def entry_id(item: Input) -> str:
    """The outbox entry of a decided input: one per resident, input id and content."""
    return f"{item.resident}|{item.id}|{getattr(item, 'digest', '')}"  # control inputs: none


def carried(profile: Profile, legacy: stored.Outbox) -> list[Write]:
    """A first-format profile's outbox as entries under their own keys (kept as they were
    sealed, bound to their input's id)."""
    moved = []
    for input_id, outputs in legacy.items():
        digest = profile.state.seen.get(input_id, "")
        key = entries.entry_key(f"{profile.resident}|{input_id}|{digest}")
        moved.append((key, entries.encode_entry(outputs, True, input_id)))
    return moved


@dataclass(frozen=True, slots=True)
class Recalled:
    """What the store says of an input before it is decided: the decision kept for it, or
    whether a stale entry (recorded, but its profile never was) waits to be replaced."""

    decision: Decision | None = None
    stale: bool = False


class Keeper:
    """Outbox entries in a :class:`~streams.worker.ports.ProfileStore`, put there at once."""

    def __init__(self, profiles: ProfileStore, sealed: frozenset[str] = frozenset()) -> None:
        """``sealed`` names the topics whose records are sealed already (the facts log's):
        kept as they are, not sealed again."""
        self._profiles = profiles
        self._sealed = sealed

    def recall(
        self,
        partition: int,
        item: Input,
        raw: bytes | None,
        profile: Profile,
        legacy: stored.Outbox,
        data_key: DataKey | None,
    ) -> Recalled:
        """The decision kept for ``item`` if it was decided and recorded before: the same
        outputs, with its entry (and profile) to record again."""
        entry = entry_id(item)
        key = entries.entry_key(entry)
        seen_before = profile.state.seen.get(item.id) == getattr(item, "digest", "") or (
            isinstance(item, Erase) and item.id in profile.erased
        )
        value = self._profiles.get(key)
        if value is not None:
            found = entries.decode_entry(value)
            if found.changed and not seen_before:
                return Recalled(stale=True)
            outputs = again(entries.opened(data_key, item.resident, found))
            writes = [(item.resident.encode(), raw)] if found.changed and raw else []
            return Recalled(Decision(entry, partition, writes, outputs, [(key, value)]))
        if raw and seen_before and item.id in legacy:  # kept inside a first-format profile
            moved = self.carry(profile, legacy)
            resident = item.resident.encode()
            writes = [(resident, stored.encode_profile(profile, data_key))]
            self._profiles.put(*writes[0])
            found = entries.decode_entry(dict(moved)[key])
            outputs = again(entries.opened(data_key, item.resident, found))
            return Recalled(Decision(entry, partition, writes, outputs, moved))
        in_head = self.legacy_head(partition, entry)
        if in_head is not None:
            return Recalled(Decision(entry, partition, [], in_head[0], [in_head[1]]))
        return Recalled()

    def keep(
        self,
        entry: str,
        records: list[Record],
        changed: bool,
        bound: str,
        key: DataKey | None = None,
        resident: str = "",
    ) -> list[Write]:
        """Keep a decision's outputs under ``entry`` (sealed with ``key`` for ``resident``)."""
        if not records:
            return []
        write = (
            entries.entry_key(entry),
            entries.encode_entry(kept(records), changed, bound, key, resident, self._sealed),
        )
        self._profiles.put(*write)
        return [write]

    def carry(self, profile: Profile, legacy: stored.Outbox) -> list[Write]:
        """A first-format profile's entries, each put under its own key."""
        moved = carried(profile, legacy)
        for write in moved:
            self._profiles.put(*write)
        return moved

    def rejected(self, entry: str) -> tuple[list[Record], Write] | None:
        """The outputs kept for a poison input decided before, and its entry to record again."""
        key = entries.entry_key(entry)
        value = self._profiles.get(key)
        if value is not None:
            return again(entries.decode_entry(value).outputs), (key, value)
        return None

    def legacy_head(self, partition: int, entry: str) -> tuple[list[Record], Write] | None:
        """An entry a partition's chain head kept (stores written before entries had keys of
        their own): its outputs, moved under the entry's own key."""
        head = self._profiles.get(audit_chain.head_key(partition))
        if head is None:
            return None
        outputs = audit_chain.decode_head(head).outbox.get(entry)
        if outputs is None:
            return None
        as_bytes: Entry = [(t, k.encode(), v.encode()) for t, k, v in outputs]
        write = (entries.entry_key(entry), entries.encode_entry(as_bytes, False, entry))
        self._profiles.put(*write)
        return again(as_bytes), write
