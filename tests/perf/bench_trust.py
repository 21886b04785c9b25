"""What proof of origin costs per event: signing (publisher side) and verifying (worker side).

It times, in one process and without Kafka, what a publisher adds to each event
(``schemas.signing.sign_value``) and what the worker adds before deciding
(``schemas.signing.wire_document`` and ``streams.worker.trust.admit``: the signature
check against the registry view, then the role's permission), beside the
decode every event already costs, and prints microseconds per event::

    .venv/bin/python -m tests.perf.bench_trust --events 5000

Nothing is asserted. Ed25519 verification (OpenSSL, through ``cryptography``)
dominates the figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from schemas import ATTRIBUTE_VERIFIED, decode
from schemas.registry import KeyRecorded, PublisherRegistered, RegistryView, Role
from schemas.samples import example_lines
from schemas.signing import SigningKey, sign_value, wire_document
from streams.worker.trust import Rejected, admit

_SOURCE = "urn:gss:E08000015"
_SINCE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    count = parser.parse_args().events
    key = SigningKey.generate(f"{_SOURCE}#bench")
    view = RegistryView().with_records(
        [
            PublisherRegistered(
                source=_SOURCE, role=Role.LOCAL_AUTHORITY, registered_at=_SINCE, registered_by="b"
            ),
            KeyRecorded(
                source=_SOURCE,
                key_id=key.key_id,
                public_key=key.public_key(),
                added_at=_SINCE,
                changed_by="b",
            ),
        ]
    )
    raw = example_lines(ATTRIBUTE_VERIFIED)[0]
    now = dt.datetime.now(dt.UTC)

    started = time.perf_counter()
    for _ in range(count):
        signed = sign_value(raw, key)
    sign = (time.perf_counter() - started) / count * 1e6

    started = time.perf_counter()
    for _ in range(count):
        event = decode(signed, now=now)
    decoding = (time.perf_counter() - started) / count * 1e6

    started = time.perf_counter()
    for _ in range(count):
        verdict = admit(wire_document(signed), event, now, view)
    verify = (time.perf_counter() - started) / count * 1e6
    if isinstance(verdict, Rejected):
        raise SystemExit(f"the benchmark's own event was rejected: {verdict.reason}")
    print(f"{count} events, µs per event")
    print(f"  publisher: sign            {sign:7.0f}")
    print(f"  worker:    decode          {decoding:7.0f}   (already paid today)")
    print(f"  worker:    verify + permit {verify:7.0f}   (added by proof of origin)")


if __name__ == "__main__":
    main()
