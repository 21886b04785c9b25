"""The facts log (``<prefix>.facts.v1``): each inbound record the worker decided, kept for
replay with everything personal sealed under the resident's data key.

The worker appends one record for each input that changed a resident's lattice state (a new
claim, retraction, consent or withdrawal), one for each input refused because its origin is
not proven or its publisher's role forbids it (so replay judges it again, and refuses it
again), and one for each erasure, as an output of that input's decision: kept in its outbox,
then sent, then the input acked, so nothing is lost across a kill. A record sent twice is
harmless: the fold is a semilattice, and an erasure (or an input it dropped) seen again
changes nothing. Inputs that changed nothing (duplicates, invalid ones, re-evaluations) are
not appended: replay would fold nothing of them.

A record is a JSON document in the CloudEvents shape the hub writes, keyed by resident::

    {"specversion": "1.0", "id": <the input's id>, "source": <the hub>,
     "type": "uk.gov.rps.fact.recorded.v1", "subject": <resident>, "time": <decided at>,
     "rpstopic": <the topic it was read from>, "rpsrecordtime": <its broker timestamp, ms>,
     "data": {"sealed": <envelope>}}

The envelope (:mod:`rps.sealing`, bound to the resident and ``fact|<id>``) holds the original
record's value and headers byte for byte, so replay decodes and admits it exactly as the
worker did: the signature covers the value, or in binary mode the ``ce_*`` headers and the
value. Ids, the topic's name and the timestamp are not personal. An erasure is
``uk.gov.rps.fact.erased.v1`` with ``data: {"reason": <code>}``: it holds no personal data,
so it is not sealed, and replay folds it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

import schemas
from rps.sealing import DataKey, SealBroken, open_sealed, seal
from streams.core import Erase
from streams.worker.codec import instant
from streams.worker.ports import Headers, InputRecord

RECORDED_TYPE = "uk.gov.rps.fact.recorded.v1"
ERASED_TYPE = "uk.gov.rps.fact.erased.v1"


class FactsLogError(ValueError):
    """A facts log record this worker did not write (names the rule, never a value)."""


@dataclass(frozen=True, slots=True)
class LoggedFact:
    """One record of the facts log, as read: ids and metadata in plain, the content sealed."""

    id: str
    resident: str
    topic: str
    timestamp_ms: int
    sealed: str | None
    """The original record's value and headers, sealed; None for an erasure."""
    reason: str | None = None
    """An erasure's reason code (None for a recorded fact)."""
    decided_at: datetime | None = None
    """When the worker decided the input (the record's ``time``)."""

    def erasure(self) -> Erase | None:
        """The erasure this record carries, if it is one."""
        return None if self.reason is None else Erase(self.id, self.resident, self.reason)


@dataclass(frozen=True, slots=True)
class Original:
    """An inbound record as the worker read it, opened from the facts log (an ``InputRecord``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers | None
    timestamp: float


def _bound(event_id: str) -> str:
    """What a fact's envelope is bound to besides the resident: kept apart from claim values."""
    return f"fact|{event_id}"


def _document(
    event_id: str,
    resident: str,
    kind: str,
    record: InputRecord,
    now: datetime,
    data: dict[str, str],
) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": schemas.HUB_SOURCE,
            "type": kind,
            "subject": resident,
            "time": instant(now),
            "rpstopic": record.topic,
            "rpsrecordtime": round(record.timestamp * 1000),
            "data": data,
        }
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def recorded(
    record: InputRecord, event_id: str, resident: str, key: DataKey, now: datetime
) -> bytes:
    """The facts log record of the event ``event_id`` about ``resident``, decided from
    ``record``: its content sealed under the resident's ``key``."""
    value = record.value or b""
    headers = [[name, _b64(raw or b"")] for name, raw in record.headers or ()]
    content: dict[str, Any] = {"h": headers}
    try:
        content["v"] = value.decode("utf-8")
    except UnicodeDecodeError:  # never admitted, but kept exactly all the same
        content["b"] = _b64(value)
    envelope = seal(key, content, resident, _bound(event_id))
    return _document(event_id, resident, RECORDED_TYPE, record, now, {"sealed": envelope})


def erased(record: InputRecord, item: Erase, now: datetime) -> bytes:
    """The facts log record of an erasure: ids and its reason code, nothing sealed."""
    return _document(item.id, item.resident, ERASED_TYPE, record, now, {"reason": item.reason})


def decode(value: bytes | None) -> LoggedFact:
    """A facts log record, its content left sealed; ``FactsLogError`` if it is not one."""
    try:
        document = orjson.loads(value or b"")
        kind, data = document["type"], document["data"]
        fields = (
            str(document["id"]),
            str(document["subject"]),
            str(document["rpstopic"]),
            int(document["rpsrecordtime"]),
        )
        decided_at = datetime.fromisoformat(str(document["time"]))
        if kind == RECORDED_TYPE:
            return LoggedFact(*fields, sealed=str(data["sealed"]), decided_at=decided_at)
        if kind == ERASED_TYPE:
            reason = str(data["reason"])
            return LoggedFact(*fields, sealed=None, reason=reason, decided_at=decided_at)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise FactsLogError("not a facts log record") from error
    raise FactsLogError("not a facts log record type")


def opened(fact: LoggedFact, key: DataKey | None) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The original record's value and headers; ``rps.sealing.KeyForgotten`` when the
    resident was erased (``key`` None or a newer one), ``SealBroken`` when tampered with."""
    if fact.sealed is None:
        raise FactsLogError("an erasure seals nothing")
    content = open_sealed(key, fact.sealed, fact.resident, _bound(fact.id))
    try:
        headers = [(str(name), base64.b64decode(raw)) for name, raw in content["h"]]
        value = content["v"].encode() if "v" in content else base64.b64decode(content["b"])
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise SealBroken("a facts log envelope that holds no record") from error
    return value, headers


def original(
    fact: LoggedFact, key: bytes | None, value: bytes, headers: Headers, partition: int
) -> Original:
    """The inbound record ``fact`` was decided from, to be decoded and admitted again; ``key``
    is the facts record's own (the resident, as the inbound record's was)."""
    return Original(fact.topic, partition, -1, key, value, headers, fact.timestamp_ms / 1000)
