"""The worker's inputs: an inbound record decoded to its core value, checked for its topic
and key and, when trust is enforced, admitted with its proven signer; a bad one raises
``PoisonMessage`` with the reason it is dead-lettered for. A record of the subscriptions
topic is judged as the directory judges it (:func:`subscription`)."""

from __future__ import annotations

import schemas
from schemas.registry import Signer
from schemas.topics import Topics
from streams.core import Claim, Input, Retraction, SubscriptionChange
from streams.worker import codec, rejections, trust
from streams.worker.errors import PoisonMessage, RefusedChange, Untrusted
from streams.worker.ports import InputRecord, Registry

MAX_INPUT_BYTES = 256 * 1024
"""The most an inbound record's value and headers may hold together. Each decided record is
kept on the facts log, its value and headers sealed whole (JSON-escaped, then base64: up to
about 2.7 times the size), which must stay under Kafka's 1 MiB record limit; a real event is
a few kilobytes."""


def input_size(message: InputRecord) -> int:
    """The bytes of an inbound record's value and headers (names and values)."""
    headers = message.headers or ()
    return len(message.value or b"") + sum(len(k) + len(v or b"") for k, v in headers)


async def decode(
    message: InputRecord, topics: Topics, registry: Registry | None
) -> tuple[Input, Signer | None]:
    """The input's core value and, when trust is enforced (``registry`` given), its proven
    signer. A record over :data:`MAX_INPUT_BYTES` is refused (``input_too_large``) unread."""
    if message.topic == topics.control:
        try:
            return codec.decode_control(message.value), None
        except codec.ControlError as error:
            raise PoisonMessage("not_a_control_message") from error
    if input_size(message) > MAX_INPUT_BYTES:
        raise PoisonMessage("input_too_large", "value and headers over 256 KiB")
    signer = None
    try:
        if registry is None:
            item = codec.decode_inbound(message.value, message.headers or ())
        else:
            item, signer = await _admitted(message, registry)
    except schemas.InvalidEvent as error:
        raise _invalid(error) from error
    if isinstance(item, SubscriptionChange):
        raise PoisonMessage("wrong_topic", "subscription changes go to the subscriptions topic")
    expected = topics.attributes if isinstance(item, Claim | Retraction) else topics.consents
    if message.topic != expected:
        raise PoisonMessage("wrong_topic", f"this event type belongs on {expected}")
    if (message.key or b"") != item.resident.encode():
        raise PoisonMessage("key_mismatch", "the record key must be the event's subject")
    return item, signer


async def subscription(
    message: InputRecord, topics: Topics, registry: Registry | None
) -> SubscriptionChange | None:
    """A record of the subscriptions topic judged as every worker's directory judges it: the
    change when it is admitted (the directories apply it), None for a tombstone (compaction
    removing a key), else raises ``PoisonMessage``; ``RefusedChange`` for a subscription
    change that is not admitted, carrying the entry that audits it under its authority."""
    if message.value is None:
        return None
    try:
        if registry is None:
            item = codec.decode_inbound(message.value, message.headers or ())
        else:
            verdict = await _verdict(message, registry)
            if isinstance(verdict, trust.Rejected):
                entry = rejections.refused_change(verdict)
                if entry is None:
                    raise _misplaced(topics)
                raise RefusedChange(verdict.reason, schemas.SUBSCRIPTION_CHANGED, entry)
            item = codec.to_fact(verdict[0])
    except schemas.InvalidEvent as error:
        raise _invalid(error) from error
    if not isinstance(item, SubscriptionChange):
        raise _misplaced(topics)
    return item


async def _admitted(
    message: InputRecord, registry: Registry
) -> tuple[Input | SubscriptionChange, Signer]:
    """Decode and admit an inbound record: proven origin, then the role's permission."""
    verdict = await _verdict(message, registry)
    if isinstance(verdict, trust.Rejected):
        event = verdict.event or schemas.decode(message.value or b"", message.headers or ())
        source = schemas.authority_of_source(event.source)
        raise Untrusted(verdict.reason, event.id, event.type, source)
    event, signer = verdict
    return codec.to_fact(event), signer


async def _verdict(
    message: InputRecord, registry: Registry
) -> tuple[schemas.Event, Signer] | trust.Rejected:
    """``trust.admit_record`` on an inbound record, judged with a registry view fresh enough
    for the record's (broker) timestamp."""
    stamp = trust.record_time(round(message.timestamp * 1000))
    view = await registry.view_for(stamp)
    return trust.admit_record(message.value, message.headers or (), stamp, view)


def _invalid(error: schemas.InvalidEvent) -> PoisonMessage:
    first = error.errors[0] if error.errors else None
    reason = f"{first.rule}:{first.field}" if first else "invalid"
    return PoisonMessage("invalid_event", reason)


def _misplaced(topics: Topics) -> PoisonMessage:
    return PoisonMessage(
        "wrong_topic", f"only subscription changes belong on {topics.subscriptions}"
    )
