"""Publishing: the async SDK, ``rps publish``, and the HTTP gateway (``producers.gateway``).

Errors are drawn in :mod:`producers.errors`; the root is :class:`ProducerError`.
:class:`Publisher` loads aiokafka, so it is imported on first use:
``rps validate`` and ``rps publish --dry-run`` start without it.
"""

from typing import TYPE_CHECKING

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
from producers.receipts import Receipt
from producers.routing import PUBLISHABLE_TYPES, topic_for

if TYPE_CHECKING:
    from producers.publisher import Publisher

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


def __getattr__(name: str) -> object:
    """``Publisher``, imported from :mod:`producers.publisher` when first named."""
    if name == "Publisher":
        from producers.publisher import Publisher

        return Publisher
    raise AttributeError(f"module 'producers' has no attribute {name!r}")
