"""The Kafka key of every event a publisher sends, decided in one place.

Attribute and consent events are keyed by ``subject``, the resident's hub id,
so one resident's events stay in order on one partition and the attributes and
consents topics stay co-partitioned. ``subscription.changed`` is keyed by
``"<authority>|<attribute>"``: the subscriptions topic is compacted, and
compaction must keep the latest change for each (authority, attribute) pair,
not only the latest per authority.
"""

from __future__ import annotations

from schemas import Event, SubscriptionChanged


def key_for(event: Event) -> bytes:
    """The Kafka key for ``event``."""
    if isinstance(event, SubscriptionChanged):
        return f"{event.data.authority}|{event.data.attribute.value}".encode()
    return event.subject.encode()
