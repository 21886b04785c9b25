"""The subscriber's consumer group carries the topic prefix and can be set."""

from __future__ import annotations

import pytest

import infra
from consumers.subscriber import group_id, subscribe
from rps.settings import Settings
from tests.integration.consumers.conftest import KafkaIO
from tests.unit.consumers.events import AUTHORITY, SUBJECT, address, profile_updated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_subscribers_of_two_prefixes_commit_in_their_own_groups(
    settings: Settings, backend_url: str
) -> None:
    """Each deployment's subscriber commits under its own prefixed group, none under the other's
    nor under the old fixed ``rps-subscriber-<authority>``."""
    other = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}b"})
    await infra.ensure_topics(other)
    for deployment in (settings, other):
        io = KafkaIO(deployment)
        await io.ready(AUTHORITY)
        topic = io.topics.deliveries(AUTHORITY)
        await io.produce(topic, [profile_updated(1, address("Flat 1"))], key=SUBJECT.encode())
    await subscribe(settings, AUTHORITY, backend_url, stop_at_end=True)

    own, theirs = KafkaIO(settings), KafkaIO(other)
    mine = await own.committed(own.topics.deliveries(AUTHORITY), group_id(settings, AUTHORITY))
    assert sum(offset or 0 for offset in mine.values()) == 1
    for group in (group_id(other, AUTHORITY), f"rps-subscriber-{AUTHORITY}"):
        assert set((await own.committed(own.topics.deliveries(AUTHORITY), group)).values()) == {
            None
        }
    untouched = await theirs.committed(
        theirs.topics.deliveries(AUTHORITY), group_id(other, AUTHORITY)
    )
    assert set(untouched.values()) == {None}


async def test_a_group_set_in_the_settings_is_the_one_that_commits(
    settings: Settings, kafka_io: KafkaIO, backend_url: str
) -> None:
    """``RPS_SUBSCRIBER_GROUP_ID`` (``--group``) replaces the default group."""
    await kafka_io.ready(AUTHORITY)
    topic = kafka_io.topics.deliveries(AUTHORITY)
    await kafka_io.produce(topic, [profile_updated(1, address("Flat 1"))], key=SUBJECT.encode())
    chosen = settings.model_copy(update={"subscriber_group_id": f"{settings.topic_prefix}-chosen"})
    await subscribe(chosen, AUTHORITY, backend_url, stop_at_end=True)
    committed = await kafka_io.committed(topic, f"{settings.topic_prefix}-chosen")
    assert sum(offset or 0 for offset in committed.values()) == 1
    default = await kafka_io.committed(topic, group_id(settings, AUTHORITY))
    assert set(default.values()) == {None}
