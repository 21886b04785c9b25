"""Which topic an inbound event goes to, decided in one place.

``attribute.*`` to the attributes topic, ``consent.*`` to the consents topic,
``subscription.changed`` to the subscriptions topic. Every other type is
outbound or internal (deliveries, acknowledgements, audit records) and is
refused: a publisher never writes to a delivery topic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from producers.errors import NotPublishable
from schemas import (
    ATTRIBUTE_RETRACTED,
    ATTRIBUTE_VERIFIED,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    SUBSCRIPTION_CHANGED,
    Event,
)
from schemas.topics import Topics

_ROUTES: Final[dict[str, Callable[[Topics], str]]] = {
    ATTRIBUTE_VERIFIED: lambda topics: topics.attributes,
    ATTRIBUTE_RETRACTED: lambda topics: topics.attributes,
    CONSENT_GRANTED: lambda topics: topics.consents,
    CONSENT_WITHDRAWN: lambda topics: topics.consents,
    SUBSCRIPTION_CHANGED: lambda topics: topics.subscriptions,
}

PUBLISHABLE_TYPES: Final = frozenset(_ROUTES)
"""The event types a publisher may send."""


def topic_for(event: Event, topics: Topics) -> str:
    """The topic ``event`` is published to, or :class:`NotPublishable` for any other type."""
    route = _ROUTES.get(event.type)
    if route is None:
        raise NotPublishable(event.id)
    return route(topics)
