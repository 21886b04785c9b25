"""One measured scenario: a real ``rps worker`` and the passthrough on the same events.

For a store, a number of residents and a number of subscribing councils:

1. fresh topics; the councils' subscriptions; every resident's profile
   (holding three consents) written straight onto the worker's changelog;
2. ``rps worker`` started and proved running by one warm-up event (which also
   waits out the restore of the changelog); for scale-out, several workers of one
   group, proved to share the inbound partitions and each to be deciding;
3. the measured events sent as fast as Kafka takes them; the clock runs from
   the first send until the last output (delivery, ending, audit or dead
   letter) is written;
4. the passthrough (``tests.perf.passthrough``) on a second prefix: the same
   events, the same number of outputs per input, timed the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from pydantic import SecretStr

import infra
import schemas
from cli.spawn import environment, start_worker, stop_worker
from producers import Publisher
from rps import registry
from rps.keystore import SqlKeyStore
from rps.settings import Settings
from schemas.registry import Role
from schemas.signing import SigningKey
from schemas.topics import Topics
from streams.runtime.names import changelog_topic, faust_id
from tests.perf import broker, passthrough, workload

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one run holds fixed."""

    store: str
    residents: int
    authorities: int

    @property
    def name(self) -> str:
        return f"{self.store.split(':')[0]}, {self.residents:,} residents, {self.authorities} LAs"


@dataclass
class Running:
    """Started workers of one group on a scenario's topics: ``process`` (its output in ``log``),
    and for scale-out the further workers in ``more``."""

    settings: Settings
    councils: list[str]
    process: subprocess.Popen[bytes]
    log: Path
    base: Settings
    restarts: int = 0
    keys: dict[str, SigningKey] = field(default_factory=dict)
    """Each source's signing key when the worker enforces trust (``RPS_TRUST``)."""
    more: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    """Further workers of the same group, each with its log (``start(..., workers=2)``)."""

    @property
    def workers(self) -> list[tuple[subprocess.Popen[bytes], Path]]:
        """Every worker process with its log, ``process`` first."""
        return [(self.process, self.log), *self.more]

    def alive(self) -> None:
        """Raise with the log's tail when a worker has exited."""
        for process, log in self.workers:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker exited with {process.returncode}:\n{tail}")

    def cpu_seconds(self) -> float:
        """User plus system CPU the workers have used, summed."""
        return sum(self.cpu_each())

    def cpu_each(self) -> list[float]:
        """User plus system CPU each worker has used, ``process`` first."""
        return [cpu_seconds(process.pid) for process, _ in self.workers]

    def memory_mib(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the worker ``process`` in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        values = {line.split(":")[0]: int(line.split()[1]) for line in status if "kB" in line}
        return values["VmRSS"] / 1024, values["VmHWM"] / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def outputs(settings: Settings, councils: list[str]) -> list[str]:
    """Every topic the worker writes decisions to."""
    topics = Topics(settings.topic_prefix)
    return [topics.audit, topics.deadletter, *(topics.deliveries(c) for c in councils)]


async def start(
    base: Settings, shared: Settings, scenario: Scenario, scratch: Path, tag: str, workers: int = 1
) -> Running:
    """Topics, subscriptions, preloaded profiles, and a worker that has processed one event;
    with ``workers`` over 1, that many workers of one group, sharing the inbound partitions
    and each deciding (``share_out``).

    ``shared`` locates the local PostgreSQL (the subscribers' database server)."""
    settings = base.model_copy(
        update={
            "topic_prefix": f"perf{tag}",
            "app_id": "bench",
            "store": scenario.store,
            "state_dir": scratch / tag,
            "log_level": "warning",
            # The scenario's own hub database (the data keys), as a hub of its own would have.
            "database_url": SecretStr(f"sqlite+aiosqlite:///{scratch / tag / 'hub.db'}"),
        }
    )
    topics = Topics(settings.topic_prefix)
    councils = workload.authorities(scenario.authorities)
    await infra.ensure_topics(settings)
    for council in councils:
        await infra.ensure_delivery_topic(settings, council)
    now = dt.datetime.now(dt.UTC)
    # Keys valid at once (no grace): they are registered before the worker starts, so its
    # start-up read holds them all; the worker itself runs with the configured grace.
    at_once = settings.model_copy(update={"registry_grace_seconds": 0.0})
    keys = await _registered(at_once, councils) if settings.trust == "enforce" else {}
    for event in workload.subscriptions(councils, now):
        async with Publisher(settings, signing=keys.get(event.source)) as publisher:
            await publisher.publish(event)
    await broker.create(settings, [changelog_topic(settings)], compacted=True)
    await broker.send_pairs(
        settings, changelog_topic(settings), workload.preload(scenario.residents, councils, now)
    )
    await _keyed(settings, scenario.residents)
    log = scratch / f"{tag}.log"
    await broker.send(settings, signed([workload.warmup(topics, councils)], keys))
    limit = 60 + scenario.residents / 2_000  # restoring the changelog takes its time
    for attempt in range(3):
        process = start_worker(settings, log, RPS_WORKER_NAME="bench")
        more = [_another(settings, scratch / f"{tag}-{n}.log", n) for n in range(1, workers)]
        running = Running(settings, councils, process, log, shared, attempt, keys, more)
        try:
            await settle(running, limit=limit)
            if more:
                await share_out(running, limit)
            return running
        except TimeoutError:
            print(f"   worker did not start deciding within {limit:.0f} s; restarted", flush=True)
            stop(running, kill=True)
        except BaseException:
            stop(running, kill=True)
            raise
    raise RuntimeError(f"the worker never started deciding; see {log}")


def _another(settings: Settings, log: Path, n: int) -> tuple[subprocess.Popen[bytes], Path]:
    """The ``n``-th further worker of the group: a state directory of its own by its name."""
    return start_worker(settings, log, RPS_WORKER_NAME=f"bench{n}"), log


async def share_out(running: Running, limit: float) -> dict[str, list[TopicPartition]]:
    """Wait until the group is stable with every worker holding inbound partitions, then until
    each partition's holder has decided a warm-up event of its own (its share of the changelog
    restored), the group unchanged meanwhile; each member's inbound partitions."""
    settings = running.settings
    topics = Topics(settings.topic_prefix)
    group, inputs, count = faust_id(settings), topics.worker_inputs, len(running.workers)
    for _ in range(5):
        held = await broker.wait_assigned(
            settings, group, inputs, count, running.alive, limit=limit
        )
        warmups = workload.warmups(topics, running.councils, settings.partitions)
        await broker.send(settings, signed(warmups, running.keys))
        await settle(running, limit=limit)
        if await broker.assignment(settings, group, inputs) == held:
            return held
    raise TimeoutError(f"group {group} kept rebalancing")


async def settle(running: Running, limit: float = 3600) -> None:
    """Wait until the worker has committed every inbound record."""
    topics = Topics(running.settings.topic_prefix)
    await broker.wait_caught_up(
        running.settings,
        faust_id(running.settings),
        [topics.attributes, topics.consents],
        running.alive,
        limit=limit,
    )


async def measure(
    running: Running, records: list[workload.Record], *, rate: float | None = None
) -> dict[str, Any]:
    """Send ``records`` and time them until the worker's last output; counts and CPU."""
    settings = running.settings
    records = signed(records, running.keys)  # before the clock starts, as publishers sign
    written = outputs(settings, running.councils)
    before, cpu = await broker.total(settings, written), running.cpu_seconds()
    started = time.time()
    stamps = await broker.send(settings, records, rate=rate)
    await settle(running)
    seconds = await broker.last_timestamp(settings, written) - started
    used = running.cpu_seconds() - cpu
    produced = await broker.total(settings, written) - before
    return {
        "events": len(records),
        "outputs": produced,
        "seconds": round(seconds, 3),
        "events_per_second": round(len(records) / seconds, 1),
        "worker_cpu_seconds": round(used, 2),
        "worker_cpu_us_per_event": round(used / len(records) * 1e6, 1),
        "worker_cpu_us_per_output": round(used / max(produced, 1) * 1e6, 1),
        "stamps": stamps,
    }


async def ceiling(
    base: Settings, records: list[workload.Record], outputs: int, tag: str, log: Path
) -> dict[str, Any]:
    """The passthrough on the same events with the same outputs per input, timed the same way."""
    settings = base.model_copy(update={"topic_prefix": f"perf{tag}"})
    topics = Topics(settings.topic_prefix)
    await infra.ensure_topics(settings)
    await broker.create(settings, [passthrough.sink(settings.topic_prefix)])
    moved = [
        workload.Record(
            topics.attributes if r.topic.endswith(".attributes.v1") else topics.consents,
            r.key,
            r.value,
            r.event_id,
        )
        for r in records
    ]
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.perf.passthrough",
            "--prefix",
            settings.topic_prefix,
            "--events",
            str(len(records)),
            "--outputs",
            str(outputs),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=Path(__file__).parents[2],
            env=environment(settings),
        )

    def alive() -> None:
        if process.returncode is not None:
            raise RuntimeError(f"passthrough exited with {process.returncode}; see {log}")

    group, inbound = passthrough.group(settings.topic_prefix), [topics.attributes, topics.consents]
    sink = [passthrough.sink(settings.topic_prefix)]
    try:
        await broker.send(settings, [workload.warmup(topics, ["E06000001"])])
        await broker.wait_caught_up(settings, group, inbound, alive)
        before, cpu = await broker.total(settings, sink), cpu_seconds(process.pid)
        started = time.time()
        await broker.send(settings, moved)
        await broker.wait_caught_up(settings, group, inbound, alive)
        seconds = await broker.last_timestamp(settings, sink) - started
        used = cpu_seconds(process.pid) - cpu
        produced = await broker.total(settings, sink) - before
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
    return {
        "events": len(records),
        "outputs": produced,
        "seconds": round(seconds, 3),
        "events_per_second": round(len(records) / seconds, 1),
        "cpu_us_per_event": round(used / len(records) * 1e6, 1),
    }


def stop(running: Running, *, kill: bool = False) -> None:
    """Stop every worker: gracefully, or at once (``kill``)."""
    for process, _ in reversed(running.workers):
        stop_worker(process, kill=kill)


async def _keyed(settings: Settings, residents: int) -> None:
    """The preloaded residents' data keys, made in the hub database: residents the hub knows
    have keys (a resident's first event ever makes one, at a cost of its own)."""
    store = await SqlKeyStore.open(settings)
    try:
        for start in range(0, residents, 10_000):
            end = min(residents, start + 10_000)
            await store.get_or_create_many(workload.resident_id(n) for n in range(start, end))
    finally:
        await store.close()


async def _registered(settings: Settings, councils: list[str]) -> dict[str, SigningKey]:
    """Register the workload's sources with their roles; each one's signing key."""
    roles = {schemas.source_of_authority(c): Role.LOCAL_AUTHORITY for c in councils}
    roles |= {workload.REGISTRAR: Role.REGISTRAR, workload.RESIDENT_APP: Role.RESIDENT_APP}
    keys = {}
    for source, role in roles.items():
        issued = await registry.register(settings, source, role)
        keys[source] = SigningKey.from_file(issued.path, issued.key_id)
    return keys


def signed(records: list[workload.Record], keys: dict[str, SigningKey]) -> list[workload.Record]:
    """``records`` signed by their sources when the scenario has keys, else as they are."""
    return workload.signed(records, keys) if keys else records
