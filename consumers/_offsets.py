"""Committing a consumer's offsets and knowing when it has caught up, for every consumer here
(the reference subscriber, the read model and the webhook relay)."""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from rps.logs import get_logger

log = get_logger("consumers.offsets")


async def commit(consumer: AIOKafkaConsumer, offsets: Mapping[TopicPartition, int]) -> None:
    """Commit ``offsets``; a rebalance that took the partitions away is not an error (their
    new owner carries on from its own position)."""
    try:
        await consumer.commit(dict(offsets))
    except (CommitFailedError, IllegalStateError) as error:
        log.warning("offset commit skipped", error_type=type(error).__name__)


async def caught_up(consumer: AIOKafkaConsumer, targets: Mapping[TopicPartition, int]) -> bool:
    """Whether the consumer's position has reached each partition's target (the end at start)."""
    if not targets:
        return False
    for tp, end in targets.items():
        if await consumer.position(tp) < end:
            return False
    return True
