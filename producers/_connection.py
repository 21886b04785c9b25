"""The publisher's connection to Kafka: one idempotent, ``acks=all`` aiokafka producer.

The broker acknowledges an event only when every in-sync replica holds it, and
the idempotent producer's sequence numbers keep a retried batch from being
written twice. The producer connects lazily (one attempt at a time, failing
fast for a moment after a failed one), and closing waits for the publishes
under way before it flushes and disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    RequestTimedOutError,
)

from producers.errors import PublishFailed
from rps.logs import get_logger
from rps.producing import TrackingProducer
from rps.settings import Settings

_log = get_logger("producers.publisher")

RESTART_BACKOFF_SECONDS = 1.0
"""After a failed connection, how long publish calls fail fast before Kafka is tried again."""

MAX_BATCH_BYTES = 256 * 1024
"""The producer's batch size per partition: room for some 600 events of 400 bytes."""


class Connection:
    """One producer, connected on first use and closed once the work under way is done."""

    def __init__(self, settings: Settings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self.timeout = settings.producer_send_timeout_seconds
        self._producer: Any = None
        self._starting = asyncio.Lock()
        self._retry_at = 0.0
        self._closed = False
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def producer(self) -> Any:
        """The started producer, connecting first when needed, or :class:`PublishFailed`."""
        if self._producer is not None:
            return self._producer
        if self._closed:
            raise PublishFailed("the publisher is closed")
        async with self._starting:
            if self._producer is not None:
                return self._producer
            if time.monotonic() < self._retry_at:
                raise PublishFailed(
                    f"no broker answered at {self._settings.bootstrap_servers} (tried less than "
                    f"{RESTART_BACKOFF_SECONDS:g} s ago); resend with the same event ids"
                )
            producer = TrackingProducer(
                **self._settings.kafka_client_options(),
                client_id=self._client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=self._settings.producer_linger_ms,
                max_batch_size=MAX_BATCH_BYTES,
                request_timeout_ms=int(self.timeout * 1000),
            )
            try:
                async with asyncio.timeout(self.timeout):
                    await producer.start()
            except (KafkaError, TimeoutError, OSError) as error:
                await producer.stop()
                self._retry_at = time.monotonic() + RESTART_BACKOFF_SECONDS
                raise self.failed(error) from None
            self._producer = producer
            return producer

    async def close(self) -> None:
        """Refuse new work, wait (bounded) for the work under way, flush and disconnect."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout):
                await self._idle.wait()
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def reachable(self) -> bool:
        """Whether Kafka answers a metadata request now (connecting first when needed)."""
        try:
            producer = await self.producer()
            async with asyncio.timeout(self.timeout):
                cluster = await producer.client.fetch_all_metadata()
        except (PublishFailed, KafkaError, TimeoutError):
            return False
        return bool(cluster.brokers())

    @contextlib.contextmanager
    def under_way(self) -> Iterator[None]:
        """Count a publish as under way, so that :meth:`close` waits for it."""
        if self._closed:
            raise PublishFailed("the publisher is closed")
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def drain(self, acks: list[asyncio.Future[Any]]) -> None:
        """Wait for every ack, failing when none settles for a whole timeout."""
        pending = {ack for ack in acks if not ack.done()}
        while pending:
            done, pending = await asyncio.wait(pending, timeout=self.timeout)
            if not done:
                raise TimeoutError()

    def failed(self, error: BaseException, topic: str | None = None) -> PublishFailed:
        """The error to raise for ``error``, saying what happened: a missing topic, no broker
        answering, no acknowledgement in time, or Kafka's own refusal by name."""
        _log.warning(
            "kafka did not acknowledge",
            error_type=type(error).__name__,
            bootstrap_servers=self._settings.bootstrap_servers,
            topic=topic,
        )
        producer = self._producer
        known = producer is not None and topic is not None
        if known and producer.client.cluster.partitions_for_topic(topic) is None:
            return PublishFailed(
                f"topic {topic} does not exist on Kafka: create the topics with "
                "`rps topics create`, then resend"
            )
        servers = self._settings.bootstrap_servers
        if isinstance(error, KafkaConnectionError | ConnectionError):
            happened = (
                f"no broker answered at {servers} (RPS_BOOTSTRAP_SERVERS): cannot reach Kafka"
            )
        elif isinstance(error, TimeoutError | KafkaTimeoutError | RequestTimedOutError):
            happened = f"Kafka at {servers} did not acknowledge within {self.timeout:g} s"
        elif isinstance(error, OSError):
            happened = f"Kafka at {servers} cannot be reached ({error.strerror or 'network error'})"
        else:
            happened = f"Kafka at {servers} refused: {type(error).__name__}"
        return PublishFailed(f"{happened}; resend with the same event ids")
