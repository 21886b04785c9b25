"""Consumer groups carry the topic prefix, so deployments sharing a cluster never share one."""

from __future__ import annotations

from consumers.readmodel import group_id as readmodel_group
from consumers.subscriber import group_id as subscriber_group
from rps.settings import Settings


def test_two_prefixes_never_share_a_subscriber_group() -> None:
    """Deployments with prefixes ``a`` and ``b`` get groups of their own; a set group wins."""
    a, b = Settings(topic_prefix="a"), Settings(topic_prefix="b")
    assert subscriber_group(a, "E08000012") == "a-subscriber-E08000012"
    assert subscriber_group(b, "E08000012") == "b-subscriber-E08000012"
    assert subscriber_group(a, "urn:org:dwp") == "a-subscriber-org.dwp"
    chosen = Settings(topic_prefix="a", subscriber_group_id="liverpool-ctax")
    assert subscriber_group(chosen, "E08000012") == "liverpool-ctax"


def test_two_prefixes_never_share_a_read_model_group() -> None:
    """The read model's group is ``<prefix>-readmodel`` unless set."""
    assert readmodel_group(Settings(topic_prefix="a")) == "a-readmodel"
    assert readmodel_group(Settings()) == "rps-readmodel"
    assert readmodel_group(Settings(readmodel_group_id="hub-view")) == "hub-view"
