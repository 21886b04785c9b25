"""The one wiring point of the worker process: the Faust app, its tables, agent and timers.

``build(settings)`` composes and does nothing else; nothing happens at import
time. Every decision is the core's (``streams.core``), the path of one input
the processor's (``streams.worker.processor``), the order of record, send and
ack the stages' (``streams.worker.stages``), and each workaround for Faust or
aiokafka has a module of its own here (listed in this folder's README).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.types import TP, TableT, TopicT

from rps import following, logs, metrics, reading, topic_admin, tracing
from rps.logs import get_logger
from rps.private import private_directory
from rps.registry import RegistryFollower
from rps.settings import Settings
from schemas.topics import Topics
from streams.core import SubscriptionChange
from streams.runtime import read_ahead
from streams.runtime.faults import CrashPoints, FetchedButDropped
from streams.runtime.intake import Intake
from streams.runtime.metrics import PrometheusObserver, Readiness
from streams.runtime.names import faust_id
from streams.runtime.producer import FaustOutlet, FaustSend, use_tracking_producer
from streams.runtime.rewind import rewind_uncommitted_inputs
from streams.runtime.stall import StallGuard
from streams.runtime.store import TableStore
from streams.worker import expiry
from streams.worker.backfill import backfill
from streams.worker.directory import SubscriptionDirectory
from streams.worker.keys import CachedKeys
from streams.worker.processor import Processor
from streams.worker.stages import Stages

log = get_logger("worker")

_METRICS_EVERY_SECONDS = 5.0  # lag and restore progress


@dataclass(slots=True)
class Worker:
    """The pieces of one worker process, built together."""

    app: faust.App
    processor: Processor
    stages: Stages
    directory: SubscriptionDirectory
    guard: StallGuard
    intake: Intake
    sweep: expiry.Sweep
    profiles: TableStore
    readiness: Readiness
    registry: RegistryFollower | None
    """The publisher registry the worker follows; None when trust is off (``RPS_TRUST``)."""
    keys: CachedKeys


def _credentials(settings: Settings) -> Any:
    if settings.sasl_mechanism:
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=password,
            mechanism=settings.sasl_mechanism,
            ssl_context=cast(Any, settings.kafka_client_options().get("ssl_context")),
        )
    if settings.security_protocol == "SSL":
        return faust.SSLCredentials(cast(Any, settings.kafka_client_options()["ssl_context"]))
    return None


def faust_app(settings: Settings) -> faust.App:
    """The worker's Faust app with its settings (the benchmarks' Faust floor uses it too)."""
    datadir = settings.state_dir / "faust" / faust_id(settings) / settings.worker_name
    private_directory(datadir.parent)
    app = faust.App(
        faust_id(settings),
        broker=[f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        stream_ack_exceptions=False,
        stream_ack_cancelled_tasks=False,
        web_enabled=False,
        broker_session_timeout=settings.worker_session_timeout_seconds,
        broker_heartbeat_interval=settings.worker_session_timeout_seconds / 4,
        autodiscover=False,
    )
    use_tracking_producer(app)
    return app


def _table(app: faust.App, settings: Settings, name: str) -> TableT[bytes, bytes]:
    """A table of bytes over the inbound partitions; with RocksDB, each partition's store has
    a block cache of ``RPS_ROCKSDB_CACHE_MIB`` (the options are a new dict each time: Faust's
    RocksDB store takes keys out of it; the memory store ignores them)."""
    table: TableT[bytes, bytes] = app.Table(
        name,
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
        options={"block_cache_size": settings.rocksdb_cache_mib * 1024 * 1024},
    )
    return table


def _inputs(topics: Topics) -> set[str]:
    """The topics the agent reads as the group (``Topics.worker_inputs``); every worker's
    directory reads the whole subscriptions topic besides, and applies what it admits."""
    return set(topics.worker_inputs)


def build(settings: Settings) -> Worker:
    """Build the worker for ``settings``: its parts, then the agent, tasks and timers on them."""
    worker = _parts(settings, faust_app(settings))
    _attach(settings, worker)
    return worker


def _parts(settings: Settings, app: faust.App) -> Worker:
    """The worker's parts on ``app``: tables, directory, stages, processor, guards."""
    topics = Topics(settings.topic_prefix)
    inputs = _inputs(topics)
    profiles = TableStore(_table(app, settings, "profiles"))
    schedule = _table(app, settings, "expiries")
    registry = RegistryFollower(settings) if settings.trust == "enforce" else None
    directory = SubscriptionDirectory(settings, following.follow, registry)
    readiness = Readiness(app, faust_id(settings), inputs, metrics.Health())
    observer = PrometheusObserver(settings.topic_prefix)

    async def crash(error: BaseException) -> None:
        log.error("worker stopping after an unrecoverable output failure")
        os._exit(70)  # offsets of unsettled inputs are not committed: they will be redone

    async def last_audit(partition: int) -> bytes | None:
        return await reading.last_value(settings, topics.audit, partition)

    outlet = FaustOutlet(app)
    keys = CachedKeys(settings)
    checkpoints = CrashPoints(settings)
    stages = Stages(
        settings,
        outlet,
        profiles.changelog,
        profiles.persisted,
        crash,
        last_audit,
        checkpoints,
        observer,
        profiles.delete,
    )
    processor = Processor(
        settings,
        profiles,
        schedule,
        directory,
        functools.partial(topic_admin.ensure_delivery_topic, settings),
        FaustSend(app),
        keys,
        observer,
        registry=registry,
    )
    guard = StallGuard(app, inputs, directory.ready.is_set)
    dropper = FetchedButDropped(settings.fault_drop_after, settings.fault_drop_count)
    intake = Intake(processor, stages, guard, dropper)
    sweep = expiry.Sweep(schedule, processor.request_reevaluation)
    return Worker(
        app, processor, stages, directory, guard, intake, sweep, profiles, readiness, registry, keys
    )


def _attach(settings: Settings, worker: Worker) -> None:
    """Connect the parts to Faust: the rewind, the revocation signal, the directory's hooks,
    the agent, the tasks and the timers."""
    topics = Topics(settings.topic_prefix)
    inputs = _inputs(topics)
    _attach_hooks(settings, worker, inputs)
    inbound = worker.app.topic(
        *sorted(inputs),
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
    )
    rewind_uncommitted_inputs(worker.app, inputs, worker.guard.sought)
    worker.guard.attach(read_ahead.on_fetch(topics, worker.keys))
    _attach_tasks(worker)
    _attach_agent_and_timers(settings, worker, inbound, topics)


def _attach_hooks(settings: Settings, worker: Worker, inputs: set[str]) -> None:
    """The revocation signal and the directory's hooks."""
    directory, guard, stages = worker.directory, worker.guard, worker.stages

    async def on_revoked(_sender: object, revoked: set[TP], **_: object) -> None:
        stages.forget(tp.partition for tp in revoked if tp.topic in inputs)
        guard.forget(revoked)

    async def on_authority(authority: str) -> None:
        await topic_admin.ensure_delivery_topic(settings, authority)

    async def on_widened(change: SubscriptionChange) -> None:
        await backfill(worker.profiles, change, worker.processor.request_reevaluation)

    worker.app.on_partitions_revoked.connect(cast(Any, on_revoked))
    directory.on_authority = on_authority
    directory.on_widened = on_widened


def _attach_tasks(worker: Worker) -> None:
    """The tasks that run once the worker has started, and the metrics timer."""
    app, directory, readiness = worker.app, worker.directory, worker.readiness

    @app.task
    async def quiet_library_logs() -> None:  # a task: it runs once the worker set logging up
        quiet_libraries()

    @app.task
    async def follow_subscriptions() -> None:
        if worker.registry is not None:  # read whole before any event is judged
            await worker.registry.start()
        await directory.run()

    @app.task
    async def beat() -> None:  # a task runs once the producer has started
        readiness.health.met("producing")
        while True:
            readiness.beat()
            await asyncio.sleep(1.0)

    @app.task
    async def ready_when_subscriptions_read() -> None:
        await directory.ready.wait()
        readiness.health.met("subscriptions")

    @app.timer(_METRICS_EVERY_SECONDS)
    async def refresh_metrics() -> None:
        await readiness.refresh()


def _attach_agent_and_timers(
    settings: Settings, worker: Worker, inbound: TopicT, topics: Topics
) -> None:
    """The agent that takes the inbound events, the stall check and the expiry sweep."""
    app, directory, guard = worker.app, worker.directory, worker.guard

    @app.agent(inbound)
    async def process(stream: Any) -> AsyncIterator[None]:
        await directory.ready.wait()
        async for event in stream.noack().events():
            if await worker.intake.take(event):
                yield None

    @app.timer(settings.worker_stall_check_seconds)
    async def look_for_stalls() -> None:
        await guard.check()

    @app.timer(settings.expiry_tick_seconds)
    async def sweep_expiries() -> None:
        if directory.ready.is_set():
            assigned = app.consumer.assignment()
            await worker.sweep.run({tp.partition for tp in assigned if tp.topic == topics.control})


def run(settings: Settings) -> None:
    """Run one worker until it is stopped (SIGTERM, SIGINT)."""
    tracing.configure("worker")
    worker = build(settings)
    log.info(
        "worker starting",
        app_id=faust_id(settings),
        store=settings.store,
        partitions=settings.partitions,
        bootstrap_servers=settings.bootstrap_servers,
    )
    metrics.serve(settings, worker.readiness.health, "worker")
    runner = faust.Worker(
        worker.app,
        loglevel="warning",
        quiet=True,
        redirect_stdouts=False,  # our lines are ours: not re-logged by Faust as warnings
        logging_config=logs.logging_config(settings.log_format, settings.log_level),
    )
    runner.spinner = None  # a terminal spinner writes escape codes even into a log file
    runner.execute_from_commandline()


def quiet_libraries() -> None:
    """Keep aiokafka's, Faust's and mode's own loggers at warnings.

    Left to inherit, they build a DEBUG record (caller lookup included) for every
    record sent and every request, only for the handler to drop it: measured at
    about 6% of the worker's CPU under load (docs/performance.md).
    """
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(logging.WARNING)
