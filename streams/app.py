"""The one wiring point of the worker process: the Faust app, its table, agent and timers.

``build(settings)`` does all the work; nothing happens at import time. The
agent is a thin adapter: every decision is the core's (``streams.core``), every
byte conversion the codec's (``streams.codec``), and the order of send, record
and ack is the processor's (``streams.pipeline``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP

import infra
from rps import reading
from rps.logs import get_logger
from rps.private import private_directory
from rps.producing import TrackingProducer
from rps.settings import Settings
from schemas.topics import Topics
from streams import codec, expiry
from streams.core import SubscriptionChange
from streams.directory import SubscriptionDirectory
from streams.faults import FetchedButDropped
from streams.pipeline import Processor
from streams.stages import Stages
from streams.stall import StallGuard

log = get_logger("worker")


@dataclass(slots=True)
class Worker:
    """The pieces of one worker process, built together."""

    app: faust.App
    processor: Processor
    stages: Stages
    directory: SubscriptionDirectory


class _Outlet:
    """The stages' way to the producer: aiokafka's batch interface on Faust's own producer.

    Faust keeps aiokafka's producer behind a private method; this is the one place that
    reaches it."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    def _producer(self) -> TrackingProducer:
        return cast(TrackingProducer, cast(Any, self._app.producer)._ensure_producer())

    async def partition(self, topic: str, key: bytes | None) -> int:
        return await self._producer().partition(topic, key)

    def create_batch(self) -> Any:
        return self._producer().create_batch()

    async def send_batch(self, batch: Any, topic: str, partition: int) -> Awaitable[Any]:
        ack: Awaitable[Any] = await self._producer().send_batch(batch, topic, partition=partition)
        return ack


class _Producer(faust_kafka.Producer):
    """Faust's producer, sending with :class:`rps.producing.TrackingProducer`: a changelog
    batch waiting on a leader the producer's metadata had dropped held every flush, so the
    worker neither committed nor finished a rebalance, and sat idle with inputs waiting."""

    @property
    def _producer_type(self) -> type[TrackingProducer]:
        return TrackingProducer


def faust_id(settings: Settings) -> str:
    """The consumer group and changelog prefix: one per topic prefix."""
    return f"{settings.topic_prefix}.{settings.app_id}"


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


def rewind_uncommitted_inputs(
    app: faust.App, inputs: set[str], sought: Callable[[Mapping[Any, int]], None]
) -> None:
    """Make Faust's "seek to committed offsets" also rewind partitions with no committed offset.

    After a rebalance Faust drops the records its consumer fetched while the flow
    was stopped, then relies on seeking every partition back to its committed
    offset. aiokafka's ``seek_to_committed`` only moves partitions whose committed
    offset is above zero, so an input partition the group has never committed (a
    worker that crashed before its first commit) stayed past the dropped records:
    the new owner sat idle with its inputs unprocessed. Those partitions go back
    to the start of the log instead, which is where ``earliest`` would put them.
    Where each input partition was sought is reported to ``sought``.
    """
    consumer: Any = app.consumer
    seek_to_committed = consumer.seek_to_committed

    async def seek_to_committed_or_beginning() -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await seek_to_committed()
        uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic in inputs]
        starts: Mapping[Any, int] = {}
        if uncommitted:
            starts = await consumer.earliest_offsets(*uncommitted)
            await consumer.seek_wait(starts)
            log.info(
                "inputs without a committed offset read from the start", count=len(uncommitted)
            )
        sought({**{tp: o for tp, o in committed.items() if o}, **starts})
        return committed

    consumer.seek_to_committed = seek_to_committed_or_beginning


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
    cast(Any, app.transport).Producer = _Producer  # before anything asks for app.producer
    return app


def build(settings: Settings) -> Worker:
    """Build the Faust app for ``settings``: table, agent, subscription follower, expiry timer."""
    topics = Topics(settings.topic_prefix)
    app = faust_app(settings)
    profiles = app.Table(
        "profiles", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes
    )
    schedule = app.Table(
        "expiries", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes
    )
    directory = SubscriptionDirectory(settings)
    inputs = {topics.attributes, topics.consents, topics.control}

    async def send(
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any:
        return await app.producer.send(topic, key, value, partition, None, headers)

    async def ensure_topic(authority: str) -> str:
        return await infra.ensure_delivery_topic(settings, authority)

    async def crash(error: BaseException) -> None:
        log.error("worker stopping after an unrecoverable output failure")
        os._exit(70)  # offsets of unsettled inputs are not committed: they will be redone

    async def last_audit(partition: int) -> bytes | None:
        return await reading.last_value(settings, topics.audit, partition)

    def persisted(partition: int, offset: int) -> None:
        """What Faust's own changelog writes do: a RocksDB store remembers the offset it holds,
        so a restart reads the changelog only from there (Faust types the store a mapping)."""
        cast(Any, profiles.data).set_persisted_offset(TP(changelog, partition), offset)

    changelog = profiles.changelog_topic.get_topic_name()
    stages = Stages(settings, _Outlet(app), changelog, persisted, crash, last_audit)
    processor = Processor(settings, send, profiles, schedule, directory, ensure_topic, stages)

    guard = StallGuard(app, inputs, directory.ready.is_set)
    dropper = FetchedButDropped(settings.fault_drop_after, settings.fault_drop_count)

    async def on_revoked(_sender: Any, revoked: set[Any], **_: Any) -> None:
        stages.forget(tp.partition for tp in revoked if tp.topic in inputs)
        guard.forget(revoked)

    app.on_partitions_revoked.connect(cast(Any, on_revoked))

    async def on_authority(authority: str) -> None:
        await ensure_topic(authority)

    async def on_widened(change: SubscriptionChange) -> None:
        needle = f'"{change.authority}"'.encode()
        count = 0
        for key, raw in list(profiles.data.items()):
            if raw and needle in raw and change.authority in codec.decode_profile(raw).state.grants:
                await processor.request_reevaluation(key.decode(), "subscription", change.id)
                count += 1
        log.info("backfill requested", authority=change.authority, count=count)

    directory.on_authority = on_authority
    directory.on_widened = on_widened

    inbound = app.topic(
        topics.attributes,
        topics.consents,
        topics.control,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
    )

    rewind_uncommitted_inputs(app, inputs, guard.sought)

    @app.task
    async def quiet_library_logs() -> None:  # a task: it runs once the worker set logging up
        quiet_libraries()

    @app.task
    async def follow_subscriptions() -> None:
        await directory.run()

    @app.agent(inbound)
    async def process(stream: Any) -> AsyncIterator[None]:
        await directory.ready.wait()
        async for event in stream.noack().events():
            if dropper.drops(event.message.tp, event.message.offset):
                continue
            if not guard.handing(event.message.tp, event.message.offset):
                # Beyond a hole: it comes again, in order. Released, not acknowledged: its
                # offset is not committed, and a rebalance does not wait for it.
                event.message.acked = True
                continue
            try:
                await processor.handle(event)
            except Exception as error:  # unknown: stop, so the group hands the partitions on
                log.error("worker stopping on an unexpected error", error_type=type(error).__name__)
                os._exit(70)
            finally:
                guard.done()
            yield None

    @app.timer(settings.worker_stall_check_seconds)
    async def look_for_stalls() -> None:
        await guard.check()

    cursor = expiry.Cursor()

    @app.timer(settings.expiry_tick_seconds)
    async def sweep_expiries() -> None:
        if not directory.ready.is_set():
            return
        assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == topics.control}
        for partition, resident, due in cursor.due(schedule, assigned, expiry.utcnow()):
            await processor.request_reevaluation(resident, "expiry", due, partition)

    return Worker(app, processor, stages, directory)


def run(settings: Settings) -> None:
    """Run one worker until it is stopped (SIGTERM, SIGINT)."""
    worker = build(settings)
    log.info(
        "worker starting",
        app_id=faust_id(settings),
        store=settings.store,
        partitions=settings.partitions,
        bootstrap_servers=settings.bootstrap_servers,
    )
    faust.Worker(worker.app, loglevel="warning", quiet=True).execute_from_commandline()


def quiet_libraries() -> None:
    """Keep aiokafka's, Faust's and mode's own loggers at warnings.

    Left to inherit, they build a DEBUG record (caller lookup included) for every
    record sent and every request, only for the handler to drop it: measured at
    about 6% of the worker's CPU under load (docs/performance.md).
    """
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(logging.WARNING)
