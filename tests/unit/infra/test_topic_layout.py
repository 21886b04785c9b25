"""The topic layout rules: co-partitioning, compaction, retention."""

from __future__ import annotations

import pytest

from infra.errors import TopicLayoutError
from infra.topics import check_layout, retention_ms, topic_config
from rps.settings import Settings
from schemas.topics import Topics


def test_co_partitioned_topics_must_match_the_setting() -> None:
    """An existing co-partitioned topic with another count is refused, and the message names it."""
    settings = Settings(partitions=4)
    topics = Topics("rps")
    with pytest.raises(TopicLayoutError, match=r"rps\.consents\.v1 has 8"):
        check_layout(settings, topics.fixed(), {topics.consents: 8})


def test_non_co_partitioned_topics_may_differ() -> None:
    """Audit, dead-letter and registry topics may have any partition count."""
    settings = Settings(partitions=4)
    topics = Topics("rps")
    check_layout(
        settings, topics.fixed(), {topics.audit: 1, topics.deadletter: 12, topics.publishers: 1}
    )


def test_subscriptions_share_the_inputs_partition_count() -> None:
    """The workers' group reads the subscriptions topic with the inputs (the owner of a
    partition audits a refused change there), so another count is refused."""
    settings = Settings(partitions=4)
    topics = Topics("rps")
    with pytest.raises(TopicLayoutError, match=r"rps\.subscriptions\.v1 has 12"):
        check_layout(settings, topics.fixed(), {topics.subscriptions: 12})


def test_subscriptions_are_compacted_without_retention() -> None:
    """The subscriptions topic is compacted and carries no retention.ms."""
    settings = Settings()
    spec = next(s for s in Topics("rps").fixed() if s.name == "rps.subscriptions.v1")
    assert topic_config(settings, spec) == {
        "cleanup.policy": "compact",
        "message.timestamp.type": "LogAppendTime",
    }
    assert retention_ms(settings, spec) is None


def test_signed_topics_and_the_registry_are_stamped_by_the_broker() -> None:
    """Inbound topics and the registry use LogAppendTime (key validity is judged by it)."""
    topics = Topics("rps")
    stamped = {
        spec.name
        for spec in topics.fixed()
        if topic_config(Settings(), spec).get("message.timestamp.type") == "LogAppendTime"
    }
    assert stamped == {topics.attributes, topics.consents, topics.subscriptions, topics.publishers}


def test_the_retained_record_keeps_the_long_retention_and_the_inbound_topics_a_short_one() -> None:
    """The facts log, audit and operators' actions keep records_retention_ms; attributes,
    consents, control and dead letters inbound_retention_ms; the rest default_retention_ms."""
    settings = Settings(
        records_retention_ms=-1, inbound_retention_ms=500, default_retention_ms=1000
    )
    topics = Topics("rps")
    kept = {s.name: retention_ms(settings, s) for s in topics.fixed()}
    assert kept[topics.facts] == kept[topics.audit] == -1
    assert retention_ms(settings, topics.operations_spec()) == -1
    assert kept[topics.attributes] == kept[topics.consents] == 500
    assert kept[topics.control] == kept[topics.deadletter] == 500
    assert kept[topics.acknowledgements] == 1000
    assert retention_ms(settings, topics.delivery_spec("E08000012")) == 1000


def test_inbound_topics_are_kept_a_week_by_default_and_attributes_may_be_kept_apart() -> None:
    """By default the inbound topics keep 7 days; RPS_ATTRIBUTES_RETENTION_MS sets the
    attributes topic alone."""
    topics = Topics("rps")
    week = 7 * 24 * 3600 * 1000
    spec = {s.name: s for s in topics.fixed()}
    assert retention_ms(Settings(), spec[topics.attributes]) == week
    assert retention_ms(Settings(), spec[topics.facts]) == -1
    longer = Settings(attributes_retention_ms=-1)
    assert retention_ms(longer, spec[topics.attributes]) == -1
    assert retention_ms(longer, spec[topics.consents]) == week


def test_replicated_clusters_get_a_min_insync_of_two() -> None:
    """With replication factor 3 topics are created with min.insync.replicas=2."""
    spec = Topics("rps").fixed()[0]
    assert topic_config(Settings(replication_factor=3), spec)["min.insync.replicas"] == "2"
    assert "min.insync.replicas" not in topic_config(Settings(replication_factor=1), spec)


def test_a_topic_that_keeps_records_a_while_closes_segments_a_seventh_as_often() -> None:
    """Retention removes whole segments, so a topic with a retention rolls its segment every
    seventh of it (a week's inbound records are gone within 8 days, not 14); kept for ever or
    compacted, it keeps Kafka's default."""
    topics = Topics("rps")
    spec = {s.name: s for s in topics.fixed()}
    day = 24 * 3600 * 1000
    assert topic_config(Settings(), spec[topics.attributes])["segment.ms"] == str(day)
    assert topic_config(Settings(), spec[topics.deadletter])["segment.ms"] == str(day)
    assert "segment.ms" not in topic_config(Settings(), spec[topics.facts])
    assert "segment.ms" not in topic_config(Settings(), spec[topics.subscriptions])
    quick = Settings(inbound_retention_ms=21_000)
    assert topic_config(quick, spec[topics.consents])["segment.ms"] == "10000"
