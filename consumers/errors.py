"""The errors of the subscriber and the hub read model.

::

    ConsumerError                 root: catch this to catch everything below
    ├── ConfigurationError        bad command-line input or settings (field and rule named)
    ├── PoisonRecord              a record that can never be applied: dead-lettered, then committed
    └── TransientFailure          the database or broker is away: retried with backoff, then fatal

A poison record is never retried; a transient failure is retried a bounded
number of times and then ends the process so that the consumer group
rebalances and another member (or a restart) takes over.
"""

from __future__ import annotations


class ConsumerError(Exception):
    """Root of every error raised by ``consumers``."""


class ConfigurationError(ConsumerError):
    """Input the user can fix: the message names the field and the rule, never the value."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class PoisonRecord(ConsumerError):
    """A record that can never be applied; ``reason`` is short and free of personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(ConsumerError):
    """The database stayed unavailable through every retry."""
