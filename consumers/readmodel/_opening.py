"""Opening the facts log's sealed records for the read model, a batch at a time.

Each resident's data key is read from the hub's key store (``rps.keystore``)
once per batch and dropped with it, so a key forgotten by an erasure is not
kept here. A record that no longer opens (its resident was erased:
``KeyForgotten``) is passed by and counted as ``forgotten``; one that is broken
or holds no claim, retraction or consent is passed by and counted as
``unreadable``. The key store unreachable raises ``KeyStoreUnavailable``, which
the consume loop retries as it retries the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumers.readmodel._facts import Fact
from consumers.readmodel._wire import Read, Sealed, opened_fact
from rps.keystore import SqlKeyStore
from rps.logs import get_logger
from rps.sealing import DataKey, KeyForgotten, SealingError
from streams.worker import facts_log

log = get_logger("consumers.readmodel")

Where = tuple[int, int]
"""A facts log record's partition and offset."""


class Opener:
    """Opens sealed records with the key store; counts, once per record, what does not open."""

    def __init__(self, keys: SqlKeyStore) -> None:
        self._keys = keys
        self._forgotten: set[Where] = set()
        self._unreadable: set[Where] = set()
        self.forgotten = 0
        self.unreadable = 0

    async def open(self, items: Sequence[Read]) -> list[Fact]:
        """``items`` with each sealed record opened into its fact, or left out."""
        residents = {item.fact.resident for item in items if isinstance(item, Sealed)}
        found = await self._keys.get_many(residents) if residents else {}
        keys: dict[str, DataKey | None] = {r: found.get(r) for r in residents}
        facts: list[Fact] = []
        for item in items:
            if not isinstance(item, Sealed):
                facts.append(item)
            elif (fact := self._opened(item, keys[item.fact.resident])) is not None:
                facts.append(fact)
        return facts

    def _opened(self, item: Sealed, key: DataKey | None) -> Fact | None:
        where = (item.partition, item.offset)
        try:
            value, headers = facts_log.opened(item.fact, key)
        except KeyForgotten:
            self._forgotten.add(where)
            return None
        except SealingError as error:
            self._passed_by(item, type(error).__name__)
            return None
        fact = opened_fact(value, headers)
        if fact is None:
            self._passed_by(item, "not_a_claim_or_consent")
        return fact

    def _passed_by(self, item: Sealed, reason: str) -> None:
        where = (item.partition, item.offset)
        if where not in self._unreadable:
            log.warning(
                "facts log record passed by",
                partition=item.partition,
                offset=item.offset,
                reason=reason,
            )
        self._unreadable.add(where)

    def committed(self) -> None:
        """The batch is written: count what it passed by (a batch written again counts once)."""
        self.forgotten += len(self._forgotten)
        self.unreadable += len(self._unreadable)
        self._forgotten.clear()
        self._unreadable.clear()
