"""Publishing: the async SDK, ``rps publish``, and the HTTP gateway (``producers.gateway``).

Errors are drawn in :mod:`producers.errors`; the root is :class:`ProducerError`.
"""

from producers.errors import (
    EventRejected,
    InvalidInput,
    InvalidSource,
    NotPublishable,
    ProducerError,
    PublishFailed,
    SourceMismatch,
    UnknownCredential,
)
from producers.keys import key_for
from producers.publisher import Publisher, Receipt
from producers.routing import PUBLISHABLE_TYPES, topic_for

__all__ = [
    "PUBLISHABLE_TYPES",
    "EventRejected",
    "InvalidInput",
    "InvalidSource",
    "NotPublishable",
    "ProducerError",
    "PublishFailed",
    "Publisher",
    "Receipt",
    "SourceMismatch",
    "UnknownCredential",
    "key_for",
    "topic_for",
]
