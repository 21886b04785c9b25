"""The worker's per-event work without Kafka: what each step costs, in microseconds per event.

It runs, in one process, what ``streams.worker.processor.Processor.handle`` and its send stage do
for every input (decode the input, read the stored profile, decide, encode the outputs,
seal the input whole for the facts log when it changed the state, encode the profile and the
outbox entry, link the audit records) over the benchmark's own
workload (``tests.perf.workload``), and prints each step's cost per event, without and
with the stored values sealed under each resident's data key (``RPS_SEAL_PROFILES``; the
keys come from an in-memory cache, as the worker's do once a resident is known)::

    .venv/bin/python -m tests.perf.bench_hotpath --events 20000 --residents 10000

Steps are timed together over the whole workload, not one call at a time, so the figure
includes what the interpreter spends between calls; in the process's CPU time, steadier than
the wall clock on a shared machine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from rps.sealing import DataKey, new_data_key
from schemas.topics import Topics
from streams.core import Directory, Outcome, Profile, SubscriptionChange, apply_all, decide
from streams.worker import audit_chain, audit_records, codec, entries, facts_log, stored
from tests.perf import workload

_KEYS = audit_chain.Keys("k1", {"k1": b"bench-key"})
_PSEUDONYM_KEY = b"bench-pseudonym-key"


def _directory(councils: list[str], now: dt.datetime) -> Directory:
    changes = [codec.to_fact(event) for event in workload.subscriptions(councils, now)]
    return apply_all(c for c in changes if isinstance(c, SubscriptionChange))


def _outputs(outcome: Outcome, now: dt.datetime) -> list[tuple[bytes, bytes]]:
    """What ``Processor._records`` encodes for one decision (topic names aside)."""
    stamp = codec.instant(now)
    records = [codec.encode_ending(e, _PSEUDONYM_KEY, now) for e in outcome.endings]
    records += [codec.encode_delivery(d, _PSEUDONYM_KEY, stamp) for d in outcome.deliveries]
    records += [audit_records.encode_audit(a, stamp) for a in outcome.audit]
    return records


def _opened(outcome: Outcome, key: DataKey | None) -> Outcome:
    """The decision with its deliveries' sealed values opened, as the processor sends them."""
    if key is None:
        return outcome
    deliveries = tuple(
        replace(d, claim=replace(c, value=stored.opened_value(key, c.value, c.resident, c.id)))
        if (c := d.claim) is not None
        else d
        for d in outcome.deliveries
    )
    return replace(outcome, deliveries=deliveries)


def _logged(
    record: workload.Record,
    event_id: str,
    before: Profile,
    outcome: Outcome,
    keys: dict[str, DataKey],
    now: dt.datetime,
) -> list[bytes]:
    """The facts log record of an input that changed the resident's state (sealed always,
    whatever ``RPS_SEAL_PROFILES`` says), as ``streams.worker.outputs`` makes it."""
    resident = outcome.profile.resident
    if event_id not in outcome.profile.state.seen or event_id in before.state.seen:
        return []
    key = keys.setdefault(resident, new_data_key())
    read = facts_log.Original(record.topic, 0, 0, record.key, record.value, None, now.timestamp())
    return [facts_log.recorded(read, event_id, resident, key, now)]


def run(events: int, residents: int, authorities: int, sealed: bool = False) -> dict[str, float]:
    """Each step's cost in microseconds per event, over ``events`` inputs (``sealed``: with the
    stored profiles' values sealed)."""
    keys: dict[str, DataKey] = {}
    now = dt.datetime.now(dt.UTC)
    councils = workload.authorities(authorities)
    directory = _directory(councils, now)
    topics = Topics("bench")
    records = workload.mix(events, residents, councils, topics)
    store: dict[bytes, bytes] = dict(workload.preload(residents, councils, now))
    timings: dict[str, float] = {}

    @contextmanager
    def timed(name: str) -> Iterator[None]:
        began = time.process_time()
        yield
        timings[name] = timings.get(name, 0.0) + time.process_time() - began

    tip = audit_chain.GENESIS
    outputs = 0
    for record in records:
        with timed("decode input"):
            item = codec.decode_inbound(record.value)
        assert not isinstance(item, SubscriptionChange)  # the mix sends none
        key = item.resident.encode()
        raw = store.get(key)
        data_key = keys.setdefault(item.resident, new_data_key()) if sealed else None
        with timed("decode stored profile"):
            profile, _ = stored.decode_stored(raw) if raw else (Profile(item.resident), {})
        with timed("decide"):
            outcome = decide(profile, item, directory, now)
        with timed("encode outputs"):
            encoded = _outputs(_opened(outcome, data_key), now)
        with timed("facts log record"):
            logged = _logged(record, item.id, profile, outcome, keys, now)
        outputs += len(encoded) + len(logged)
        kept: list[tuple[str, bytes | None, bytes | None]] = [("t", k, v) for k, v in encoded]
        kept += [("f", key, v) for v in logged]
        with timed("encode profile"):
            store[key] = stored.encode_profile(outcome.profile, data_key)
        with timed("encode outbox entry"):
            entries.encode_entry(kept, True, item.id, data_key, item.resident, frozenset({"f"}))
        with timed("link audit records"):
            for _, value in encoded[len(outcome.endings) + len(outcome.deliveries) :]:
                _, tip = audit_chain.link_bytes(value, tip, _KEYS)
    per_event = {name: seconds / events * 1e6 for name, seconds in timings.items()}
    per_event["total"] = sum(per_event.values())
    per_event["outputs per event"] = outputs / events
    return per_event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--authorities", type=int, default=5)
    args = parser.parse_args()
    plain = run(args.events, args.residents, args.authorities)
    sealed = run(args.events, args.residents, args.authorities, sealed=True)
    print(f"{'step (us per event)':<24} {'plain':>8} {'sealed':>8}")
    for name, figure in plain.items():
        print(f"{name:<24} {figure:8.1f} {sealed[name]:8.1f}")


if __name__ == "__main__":
    main()
