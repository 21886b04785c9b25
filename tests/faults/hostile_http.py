"""Seeded hostile HTTP requests for the publishing gateway.

Each request breaks exactly one more rule than a valid one: no key or a forged
one, another publisher's source, a type publishers may not send, truncated or
non-UTF-8 JSON, deep nesting, a body over the size limit, wrong types, unknown
types and versions, invalid values and planted identifiers, a media type that
is not JSON, injected headers, batches with one bad event, bad retractions,
unknown routes and methods. Each must be answered 4xx with a problem document.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

import schemas
from tests.faults.hostile import NINO

SOURCE = "urn:gss:E08000012"
OTHER_SOURCE = "urn:org:dwp"
MAX_BODY = 65_536
MAX_BATCH = 100

KINDS: tuple[str, ...] = (
    "unauthenticated",
    "other_source",
    "forbidden_type",
    "truncated",
    "invalid_utf8",
    "deep",
    "huge",
    "wrong_type",
    "unknown_type",
    "invalid_value",
    "planted_identifier",
    "media_type",
    "header_injection",
    "bad_batch",
    "bad_retraction",
    "bad_route",
    "simple_form",
)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to send (the key is filled in by the test unless ``auth`` is given)."""

    kind: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    auth: str | None = None  # an Authorization header to send instead of the valid key


@dataclass
class HttpScenario:
    """``count`` hostile requests from ``seed``; ``canary`` is planted in their values."""

    seed: int
    count: int
    canary: str
    residents: list[str]
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.kinds: Counter[str] = Counter()

    def requests(self) -> Iterator[Request]:
        for n in range(self.count):
            kind = KINDS[n % len(KINDS)] if n < len(KINDS) else self.rng.choice(KINDS)
            self.kinds[kind] += 1
            yield self._request(kind)

    def event(self, **changes: Any) -> dict[str, Any]:
        """A valid CloudEvent of :data:`SOURCE` whose email holds the canary."""
        stamp = (self.now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        document: dict[str, Any] = {
            "specversion": "1.0",
            "id": f"gw-{self.seed}-{self.rng.getrandbits(48):x}",
            "source": SOURCE,
            "type": schemas.ATTRIBUTE_VERIFIED,
            "subject": self.rng.choice(self.residents),
            "time": stamp,
            "datacontenttype": "application/json",
            "data": {
                "attribute": "email",
                "value": f"{self.canary}@example.com",
                "assurance": "low",
                "method": "self_asserted",
                "verified_at": stamp,
            },
        }
        document.update(changes)
        return document

    def _request(self, kind: str) -> Request:
        rng = self.rng
        document = self.event()
        body = orjson.dumps(document)
        json = {"Content-Type": "application/json"}

        def post(content: bytes, headers: dict[str, str] | None = None, **extra: Any) -> Request:
            return Request(kind, "POST", "/v1/events", content, headers or json, **extra)

        match kind:
            case "unauthenticated":
                forged = rng.choice(
                    [None, "Bearer", f"Bearer {self.canary}", "Basic dXNlcjpwYXNz", "Bearer a b"]
                )
                return post(body, auth=forged or "")
            case "other_source":
                return post(orjson.dumps(dict(document, source=OTHER_SOURCE)))
            case "forbidden_type":
                kind_ = rng.choice([schemas.PROFILE_UPDATED, schemas.AUDIT_RECORDED])
                return post(orjson.dumps(dict(document, type=kind_)))
            case "truncated":
                return post(body[: rng.randint(1, len(body) - 1)])
            case "invalid_utf8":
                spot = body.index(self.canary.encode())
                return post(body[:spot] + b"\xff\xfe" + body[spot:])
            case "deep":
                depth = rng.choice([17, 100, 2_000])
                return post(b"[" * depth + b"]" * depth)
            case "huge":
                value = "x" * rng.randint(MAX_BODY, 4 * MAX_BODY)
                return post(orjson.dumps(self.event(data={**document["data"], "value": value})))
            case "wrong_type":
                name, wrong = rng.choice(
                    [("id", 5), ("subject", []), ("time", True), ("data", "text"), ("source", None)]
                )
                if name == "source":  # a missing source is not "another source": keep ours
                    return post(orjson.dumps({**document, "data": 7}))
                return post(orjson.dumps({**document, name: wrong}))
            case "unknown_type":
                wrong_type = rng.choice(
                    [
                        "uk.gov.rps.attribute.verified.v2",
                        "uk.gov.rps.attribute.verified.v0",
                        "com.example.unknown.v1",
                        "",
                    ]
                )
                return post(orjson.dumps({**document, "type": wrong_type}))
            case "invalid_value":
                data = dict(document["data"])
                name, wrong = rng.choice(
                    [
                        ("value", f"{self.canary} at example"),
                        ("verified_at", "2999-01-01T00:00:00Z"),
                        ("assurance", "ultra"),
                        ("attribute", "national_insurance_number"),
                    ]
                )
                data[name] = wrong
                return post(orjson.dumps({**document, "data": data}))
            case "planted_identifier":
                data = {**document["data"], "national_insurance_number": NINO}
                return post(orjson.dumps({**document, "data": data}))
            case "media_type":
                media = rng.choice(["text/plain", "application/xml", "multipart/form-data", "x/y"])
                return post(body, {"Content-Type": media})
            case "header_injection":
                headers = {
                    **json,
                    "X-Forwarded-For": "127.0.0.1, 10.0.0.1",
                    "ce-source": OTHER_SOURCE,
                    "ce-type": schemas.PROFILE_UPDATED,
                    "X-Rps-Source": OTHER_SOURCE,
                    "Host": rng.choice(["evil.example", "localhost:1", "[::1]"]),
                }
                # the injected headers must change nothing: the body is still refused
                return post(orjson.dumps(dict(document, source=OTHER_SOURCE)), headers)
            case "bad_batch":
                return Request(kind, "POST", "/v1/events/batch", self._batch(), json)
            case "bad_retraction":
                retraction = {
                    "resident": rng.choice([*self.residents[:1], "not-a-uuid"]),
                    "claim_id": rng.choice(["ok-id", "bad id", 5]),
                    "attribute": rng.choice(["email", "nino"]),
                    "reason": rng.choice(["mistyped", "because"]),
                    rng.choice(["source", "extra", "note"]): self.canary,
                }
                return Request(kind, "POST", "/v1/retractions", orjson.dumps(retraction), json)
            case "bad_route":
                method, path = rng.choice(
                    [
                        ("GET", "/v1/events"),
                        ("PUT", "/v1/events"),
                        ("POST", "/v1/deliveries/E08000015"),
                        ("POST", "/v1/events/../admin"),
                        ("DELETE", "/v1/retractions"),
                        ("POST", f"/{self.canary}"),
                    ]
                )
                return Request(kind, method, path, body, json)
            case _:  # simple_form
                simple = {
                    "resident": self.residents[0],
                    "attribute": "email",
                    "value": f"{self.canary}@example.com",
                    "assurance": "low",
                    "method": "self_asserted",
                    "verified_at": document["time"],
                }
                broken = rng.choice(["missing", "extra", "source"])
                if broken == "missing":
                    simple.pop(rng.choice(list(simple)))
                else:
                    simple[broken] = OTHER_SOURCE
                return post(orjson.dumps(simple))

    def _batch(self) -> bytes:
        rng = self.rng
        shape = rng.randrange(4)
        if shape == 0:
            return orjson.dumps(self.event())  # an object, not an array
        if shape == 1:
            return b"[]"
        if shape == 2:
            return orjson.dumps([self.event() for _ in range(MAX_BATCH + 1)])
        events = [self.event() for _ in range(rng.randint(2, 10))]
        events[rng.randrange(len(events))] = self.event(source=OTHER_SOURCE)
        return orjson.dumps(events)
