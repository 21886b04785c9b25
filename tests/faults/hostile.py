"""Seeded generators of valid and hostile inbound records for the fault suite.

``Scenario(seed, count)`` yields a stream of Kafka records for the inbound
topics: valid claims and consents interleaved with hostile ones (truncated
JSON, huge values, wrong types, unknown types and versions, header injection,
invalid UTF-8, deep nesting, ids reused with other content, mis-keyed and
mis-routed events, planted national insurance numbers and canary values).
Every hostile record must end up on the dead-letter topic with a reason; every
valid one must be decided exactly once. The same seed gives the same stream.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

import schemas

Inbound = Literal["attributes", "consents"]
Headers = list[tuple[str, bytes]]

AUTHORITY = "E08000015"
"""The authority the valid residents consent to and that subscribes to their emails."""
PUBLISHER = "urn:gss:E08000012"
APP = "urn:org:rps-resident-app"
NINO = "QQ123456C"
"""A national insurance number planted in hostile events: it must reach no delivery."""
REUSED_VALUE = b"reused-id@example.org"
"""The email of a copy of a claim that reuses its id: it must reach no delivery."""

KINDS: tuple[str, ...] = (
    "truncated",
    "huge",
    "wrong_type",
    "unknown_type",
    "header_injection",
    "invalid_utf8",
    "deep",
    "id_reused",
    "key_mismatch",
    "wrong_topic",
    "not_an_object",
    "invalid_value",
    "planted_identifier",
    "junk",
)


@dataclass(frozen=True, slots=True)
class Record:
    """One record to produce, and whether it must be dead-lettered (hostile) or decided."""

    topic: Inbound
    key: bytes | None
    value: bytes | None
    headers: Headers
    kind: str  # "valid" or one of KINDS
    event_id: str | None = None  # for valid records: the id that must be decided

    @property
    def hostile(self) -> bool:
        return self.kind != "valid"


@dataclass
class Scenario:
    """A seeded mix of ``count`` hostile records and about one valid record for each ten."""

    seed: int
    count: int
    canary: str = field(default_factory=lambda: f"canary-{uuid.uuid4().hex}")
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        size = 20 + self.count // 50
        self.residents = [
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(size)
        ]
        self.kinds: Counter[str] = Counter()
        self._serial = 0

    # -- the stream -------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        """Consents for every resident first, then hostile records with valid ones between."""
        for resident in self.residents:
            yield self._valid(self.consent(resident), "consents")
        hostile = 0
        while hostile < self.count:
            if self.rng.random() < 0.1:
                yield self._valid(self.claim(self.rng.choice(self.residents)), "attributes")
                continue
            kind = KINDS[hostile % len(KINDS)] if hostile < len(KINDS) else self.rng.choice(KINDS)
            for record in self._hostile(kind):
                if record.hostile:
                    hostile += 1
                    self.kinds[kind] += 1
                yield record

    # -- valid events -------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self.seed}-{self._serial}"

    def claim(self, resident: str, *, email: str | None = None) -> dict[str, Any]:
        """A valid email claim document for ``resident``."""
        verified = self.now - dt.timedelta(minutes=self.rng.randint(1, 10_000))
        return {
            "specversion": "1.0",
            "id": self._id("claim"),
            "source": PUBLISHER,
            "type": schemas.ATTRIBUTE_VERIFIED,
            "subject": resident,
            "time": _stamp(self.now),
            "datacontenttype": "application/json",
            "data": {
                "attribute": "email",
                "value": email or f"r{self.rng.randint(0, 10**9)}@example.org",
                "assurance": self.rng.choice(["low", "medium", "high"]),
                "method": "council_tax_record",
                "verified_at": _stamp(verified),
            },
        }

    def consent(self, resident: str) -> dict[str, Any]:
        """A valid consent from ``resident`` to :data:`AUTHORITY` for every attribute."""
        return {
            "specversion": "1.0",
            "id": self._id("consent"),
            "source": APP,
            "type": schemas.CONSENT_GRANTED,
            "subject": resident,
            "time": _stamp(self.now - dt.timedelta(days=1)),
            "datacontenttype": "application/json",
            "data": {
                "authority": AUTHORITY,
                "attributes": ["full_name", "address", "email", "phone"],
                "purpose": "council_tax",
                "local_reference": f"WIR-CT-{self.rng.randint(100000, 999999)}",
                "expires_at": None,
            },
        }

    def _valid(self, document: dict[str, Any], topic: Inbound) -> Record:
        return Record(
            topic, document["subject"].encode(), _bytes(document), [], "valid", document["id"]
        )

    # -- hostile records ----------------------------------------------------------------------

    def _hostile(self, kind: str) -> list[Record]:
        rng = self.rng
        resident = rng.choice(self.residents)
        key = resident.encode()
        document = self.claim(resident, email=f"{self.canary}@example.com")
        raw = _bytes(document)

        def one(
            value: bytes | None,
            headers: Headers | None = None,
            *,
            to: Inbound = "attributes",
            k: bytes | None = key,
        ) -> list[Record]:
            return [Record(to, k, value, headers or [], kind)]

        match kind:
            case "truncated":
                return one(raw[: rng.randint(1, len(raw) - 1)])
            case "huge":
                document["data"]["value"] = (
                    "x" * rng.randint(65 * 1024, 300 * 1024) + "@example.com"
                )
                return one(_bytes(document))
            case "wrong_type":
                path, wrong = rng.choice(_WRONG_TYPES)
                _set(document, path, wrong)
                return one(_bytes(document))
            case "unknown_type":
                document["type"] = rng.choice(_UNKNOWN_TYPES)
                if rng.random() < 0.3:
                    document["specversion"] = rng.choice(["2.0", "0.3", "1"])
                    document["type"] = schemas.ATTRIBUTE_VERIFIED
                return one(_bytes(document))
            case "header_injection":
                return one(*self._injected(document, raw))
            case "invalid_utf8":
                spot = raw.index(self.canary.encode())
                return one(
                    raw[:spot]
                    + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"])
                    + raw[spot:]
                )
            case "deep":
                depth = rng.choice([17, 40, 1_100, 5_000])
                if rng.random() < 0.5:
                    return one(b"[" * depth + b"]" * depth)
                document["data"]["value"] = _nested(depth)
                return one(_bytes(document))
            case "id_reused":
                original = self._valid(document, "attributes")
                tampered = dict(document, data=dict(document["data"], value=REUSED_VALUE.decode()))
                return [original, *one(_bytes(tampered))]
            case "key_mismatch":
                other = rng.choice(
                    [str(uuid.uuid4()).encode(), None, b"", b"\xff\xfe", b"k" * 5000]
                )
                return one(raw, k=other)
            case "wrong_topic":
                if rng.random() < 0.5:
                    return one(raw, to="consents")
                return one(_bytes(self.consent(resident)), to="attributes")
            case "not_an_object":
                return one(
                    rng.choice(
                        [
                            b"[]",
                            b"42",
                            b'"text"',
                            b"null",
                            b"",
                            None,
                            b"true",
                            b"{}",
                            b"NaN",
                            b"1e999999",
                        ]
                    )
                )
            case "invalid_value":
                path, wrong = rng.choice(_INVALID_VALUES)
                _set(document, path, wrong)
                return one(_bytes(document))
            case "planted_identifier":
                place = rng.choice(["data", "envelope", "subject", "method"])
                if place == "data":
                    document["data"]["national_insurance_number"] = NINO
                elif place == "envelope":
                    # Not a CloudEvents extension name, so refused; an extension-shaped name
                    # ("nino") is accepted and dropped (tests/integration/clients/).
                    document["national_insurance"] = NINO
                elif place == "subject":
                    document["subject"] = NINO
                    key = NINO.encode()
                else:
                    document["data"]["method"] = NINO
                return one(_bytes(document), k=key)
            case _:  # junk
                return one(rng.randbytes(rng.randint(1, 2000)))

    def _injected(self, document: dict[str, Any], raw: bytes) -> tuple[bytes, Headers]:
        rng = self.rng
        binary = [("ce_specversion", b"1.0"), ("ce_type", schemas.ATTRIBUTE_VERIFIED.encode())]
        choice = rng.randrange(6)
        if choice == 0:  # a structured event re-announced as binary: the whole event is "data"
            return raw, [*binary, ("ce_id", document["id"].encode())]
        if choice == 1:  # CRLF in a header value
            return raw, [*binary, ("ce_source", b"urn:gss:E08000012\r\nce_source: urn:org:dwp")]
        if choice == 2:  # a header that is not UTF-8
            return raw, [*binary, ("ce_id", b"\xff\xfe\xfd")]
        if choice == 3:  # a forged dead-letter verdict and a second, unknown type
            return raw, [*binary, ("rps.dlq.reason", b"none"), ("ce_type", b"uk.gov.rps.evil.v1")]
        if choice == 4:  # the envelope in headers, nothing in the value
            return b"", [*binary, ("ce_id", b"x"), ("ce_subject", document["subject"].encode())]
        data = _bytes(document["data"])  # binary mode with a subject that is not a resident id
        return data, [
            *binary,
            ("ce_id", document["id"].encode()),
            ("ce_source", PUBLISHER.encode()),
            ("ce_subject", b"../../etc/passwd"),
            ("ce_time", document["time"].encode()),
        ]


_WRONG_TYPES: tuple[tuple[str, Any], ...] = (
    ("id", 123),
    ("subject", []),
    ("time", True),
    ("data", "a string"),
    ("data.value", {"nested": "object"}),
    ("data.assurance", 5),
    ("specversion", 1.0),
    ("source", None),
    ("data.verified_at", 12345),
    ("data.attribute", ["email"]),
)
_UNKNOWN_TYPES: tuple[str, ...] = (
    "uk.gov.rps.attribute.verified.v2",
    "uk.gov.rps.attribute.verified.v0",
    "uk.gov.rps.attribute.verified",
    "uk.gov.rps.unknown.v1",
    "UK.GOV.RPS.ATTRIBUTE.VERIFIED.V1",
    "",
    schemas.PROFILE_UPDATED,
    schemas.AUDIT_RECORDED,
)
_INVALID_VALUES: tuple[tuple[str, Any], ...] = (
    ("data.value", "not-an-email"),
    ("data.verified_at", "2999-01-01T00:00:00Z"),
    ("data.verified_at", "yesterday"),
    ("data.attribute", "national_insurance_number"),
    ("data.assurance", "ultra"),
    ("subject", "3F9C2A4E-8B1D-4C6A-9E2F-1A2B3C4D5E6F"),
    ("source", "urn:gss:E08000012\nurn:org:dwp"),
    ("source", "urn:gss:E0800001"),
    ("id", "id with spaces"),
    ("id", "x" * 200),
    ("time", "2025-13-40T25:61:00Z"),
    ("data.extra", "unknown field"),
)


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target = document
    for name in parents:
        target = target[name]
    target[last] = value


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(min(depth, 200)):
        value = [value]
    return value


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bytes(document: Any) -> bytes:
    return orjson.dumps(document)
