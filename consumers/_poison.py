"""Poison records: what a consumer cannot apply is sent to the dead-letter topic with a reason.

A record is poison when decoding it fails (``PoisonRecord``, or any other
error the decoder raises), or when writing it fails with an error that is not
one of the transient database errors, however many times it is tried, while
the same write without it succeeds. The reason names a rule or an error type,
never a value: ``invalid:data.version:above_maximum``,
``cannot_apply:OverflowError``.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy.exc import DBAPIError

from rps.logs import get_logger
from schemas.topics import Topics

log = get_logger("consumers.poison")


def decode_failure(error: Exception) -> str:
    """The dead-letter reason of a decoder that raised something other than ``PoisonRecord``."""
    return f"cannot_decode:{_error_name(error)}"


def apply_failure(error: BaseException) -> str:
    """The dead-letter reason of a record whose write failed every time it was tried."""
    return f"cannot_apply:{_error_name(error)}"


def _error_name(error: BaseException) -> str:
    """The type of the error, or of the driver's error under SQLAlchemy's wrapper."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        cause = error.orig.__cause__ or error.orig
        return type(cause).__name__
    return type(error).__name__


async def dead_letter(producer: AIOKafkaProducer, topics: Topics, record: Any, reason: str) -> None:
    """Send the original bytes and headers on, with where they came from and why."""
    headers = [
        *record.headers,
        ("rps.dlq.reason", reason.encode()),
        ("rps.dlq.topic", record.topic.encode()),
        ("rps.dlq.partition", str(record.partition).encode()),
        ("rps.dlq.offset", str(record.offset).encode()),
    ]
    await producer.send_and_wait(
        topics.deadletter, value=record.value, key=record.key, headers=headers
    )
    log.warning(
        "dead-lettered",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason,
    )
