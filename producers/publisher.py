"""The publishing SDK: validated CloudEvents to Kafka, returning only once Kafka has them.

A :class:`Publisher` sends through one idempotent aiokafka producer with
``acks=all`` (see ``producers._connection``). Every event is encoded, decoded
again with ``schemas`` (exactly the check a consumer makes), routed by
:func:`producers.routing.topic_for` and keyed by :func:`producers.keys.key_for`
before it is sent. Its typed forms (``publish_attribute`` and the other
event types) are drawn in :mod:`producers.forms`.

When Kafka does not acknowledge within ``producer_send_timeout_seconds`` the
call raises :class:`PublishFailed`. The event may still arrive later; resend it
with the same id, and consumers, which apply by event id, ignore the duplicate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, Self

from aiokafka.errors import KafkaError
from opentelemetry import trace

from producers._connection import Connection
from producers.errors import EventRejected, InvalidInput, SourceMismatch
from producers.events import check_source
from producers.forms import TypedForms
from producers.keys import key_for
from producers.receipts import Outgoing, Receipt
from producers.routing import topic_for
from producers.signing import signing_key
from rps import tracing
from rps.settings import Settings
from schemas import Event, InvalidEvent, decode, encode, structured_headers
from schemas.signing import SigningKey, sign_value
from schemas.topics import Topics

_TRACER = tracing.tracer("rps.publisher")

YIELD_EVERY = 200
"""publish_many gives the event loop a turn this often, so batches leave while it reads on."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Publisher(TypedForms):
    """Publish inbound events to Kafka, as one ``source`` or (for the gateway and CLI) as any.

    Use it as an async context manager, which connects on entry and flushes on
    exit; or call :meth:`start` and :meth:`close`. A publisher that was never
    started connects on its first publish, so a gateway can start while Kafka
    is down and answer 503 until it returns.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        source: str | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        max_in_flight: int | None = None,
        signing: SigningKey | None = None,
    ) -> None:
        self._source = None if source is None else check_source(source)
        self._signing = signing if signing is not None else signing_key(settings)
        self._clock = clock
        self._topics = Topics(settings.topic_prefix)
        self._timeout = settings.producer_send_timeout_seconds
        self._max_in_flight = max_in_flight or settings.publish_max_in_flight
        self._kafka = Connection(settings, client_id=f"rps-publisher-{self._source or 'any'}")

    @property
    def source(self) -> str | None:
        """The ``source`` this publisher fills in and insists on, if it is bound to one."""
        return self._source

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect to Kafka, or raise :class:`PublishFailed` when it cannot be reached."""
        await self._kafka.producer()

    async def close(self) -> None:
        """Refuse new publishes, let those under way finish, flush, disconnect. Idempotent.

        Waits at most ``producer_send_timeout_seconds`` for the publishes under way.
        """
        await self._kafka.close()

    async def reachable(self) -> bool:
        """Whether Kafka answers a metadata request now (connecting first when needed)."""
        return await self._kafka.reachable()

    # --- events in, receipts out ------------------------------------------------------------

    def prepare(self, event: Event, *, revalidate: bool = True) -> Outgoing:
        """Check, route, key and encode ``event`` without sending it (a dry run uses this alone).

        ``revalidate`` decodes the encoded bytes again, exactly as a consumer
        will; pass ``False`` only for an event ``schemas`` has just validated.
        """
        topic = topic_for(event, self._topics)
        if self._source is not None and event.source != self._source:
            raise SourceMismatch(event.id)
        if event.traceparent is None:  # the publish span's context travels with the event
            traceparent, tracestate = tracing.current()
            if traceparent is not None:
                update = {"traceparent": traceparent, "tracestate": tracestate}
                event = event.model_copy(update=update)
        value = encode(event)
        if self._signing is not None:
            value = sign_value(value, self._signing)
        if revalidate:
            try:
                decode(value, now=self._clock())
            except InvalidEvent as error:
                raise InvalidInput(error.errors, error.event_id) from None
        return Outgoing(event.id, topic, key_for(event), value)

    async def publish(self, event: Event, *, revalidate: bool = True) -> Receipt:
        """Send one event and return once Kafka has acknowledged it."""
        with _TRACER.start_as_current_span("publish", kind=trace.SpanKind.PRODUCER):
            return await self._publish(event, revalidate)

    async def _publish(self, event: Event, revalidate: bool) -> Receipt:
        outgoing = self.prepare(event, revalidate=revalidate)
        with self._kafka.under_way():
            producer = await self._kafka.producer()
            try:
                async with asyncio.timeout(self._timeout):
                    ack = await producer.send(
                        outgoing.topic,
                        outgoing.value,
                        key=outgoing.key,
                        headers=structured_headers(),
                    )
                    metadata = await asyncio.shield(ack)
            except (KafkaError, TimeoutError) as error:
                raise self._kafka.failed(error, outgoing.topic) from None
        return Receipt(outgoing.event_id, metadata.topic, metadata.partition, metadata.offset)

    async def publish_many(
        self,
        events: Iterable[Event] | AsyncIterable[Event],
        *,
        on_receipt: Callable[[Receipt], None] | None = None,
        revalidate: bool = True,
    ) -> list[Receipt]:
        """Send many events, at most ``max_in_flight`` unacknowledged at once; receipts in order.

        Returns once Kafka has acknowledged every event. An invalid event raises
        before it is sent (those before it have been acknowledged by then); if
        Kafka makes no progress for ``producer_send_timeout_seconds``,
        :class:`PublishFailed` is raised.
        """
        with (
            _TRACER.start_as_current_span("publish", kind=trace.SpanKind.PRODUCER),
            self._kafka.under_way(),
        ):
            return await self._publish_many(events, on_receipt, revalidate)

    async def _publish_many(
        self,
        events: Iterable[Event] | AsyncIterable[Event],
        on_receipt: Callable[[Receipt], None] | None,
        revalidate: bool,
    ) -> list[Receipt]:
        producer = await self._kafka.producer()
        window = asyncio.Semaphore(self._max_in_flight)
        acks: list[tuple[str, asyncio.Future[Any]]] = []
        failures: list[BaseException] = []
        topic: str | None = None

        def settled(ack: asyncio.Future[Any], event_id: str) -> None:
            window.release()
            if ack.cancelled():
                failures.append(TimeoutError())
            elif ack.exception() is not None:
                failures.append(ack.exception())  # type: ignore[arg-type]
            elif on_receipt is not None:
                metadata = ack.result()
                on_receipt(Receipt(event_id, metadata.topic, metadata.partition, metadata.offset))

        try:
            async for event in _each(events):
                outgoing = self.prepare(event, revalidate=revalidate)
                topic = outgoing.topic
                if window.locked():
                    async with asyncio.timeout(self._timeout):
                        await window.acquire()
                else:
                    await window.acquire()
                if failures:
                    raise failures[0]
                # aiokafka bounds send(): metadata and buffer waits end at request_timeout_ms.
                ack = await producer.send(
                    outgoing.topic, outgoing.value, key=outgoing.key, headers=structured_headers()
                )
                ack.add_done_callback(lambda done, eid=outgoing.event_id: settled(done, eid))
                acks.append((outgoing.event_id, ack))
                if len(acks) % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the sender ship batches while we read on
            await self._kafka.drain([ack for _, ack in acks])
        except (KafkaError, TimeoutError) as error:
            raise self._kafka.failed(error, topic) from None
        except EventRejected:
            await self._kafka.drain([ack for _, ack in acks])
            raise
        receipts = []
        for event_id, ack in acks:
            failure = TimeoutError() if ack.cancelled() else ack.exception()
            if failure is not None:
                raise self._kafka.failed(failure, topic)
            metadata = ack.result()
            receipts.append(Receipt(event_id, metadata.topic, metadata.partition, metadata.offset))
        return receipts


async def _each(events: Iterable[Event] | AsyncIterable[Event]) -> AsyncIterator[Event]:
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event
