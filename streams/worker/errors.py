"""Errors raised by the worker's adapters.

Hierarchy::

    StreamsError             root of everything this package raises
    ├── PoisonMessage        an input that can never be processed: dead-letter it, then commit
    │   └── Untrusted        a valid event whose origin is unproven or whose role forbids it
    │       └── RefusedChange   such a subscription change: audited under its authority
    └── OutputRejected       an output the contracts refuse (a bug): fail the process, never skip

Withholding a delivery is a decision with a reason, never an exception.
"""

from __future__ import annotations

from streams.core import AuditEntry


class StreamsError(Exception):
    """Root of the worker's errors."""


class PoisonMessage(StreamsError):
    """An input that can never be processed; ``reason`` says why (a rule code, no values)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Untrusted(PoisonMessage):
    """A valid event that has no effect: unsigned, badly signed, an unknown or revoked key, or
    not permitted to its source's role (``reason``, docs/trust.md); audited with its id."""

    def __init__(self, reason: str, event_id: str, event_type: str, source: str) -> None:
        super().__init__(reason, "origin not proven or not permitted")
        self.event_id = event_id
        self.event_type = event_type
        self.source = source


class RefusedChange(Untrusted):
    """A subscription change that is not admitted (an origin reason, or not the source's
    subscription to change); ``entry`` files it as rejected under the authority it names."""

    def __init__(self, reason: str, event_type: str, entry: AuditEntry) -> None:
        super().__init__(reason, entry.event_id, event_type, entry.event_source)
        self.entry = entry


class OutputRejected(StreamsError):
    """An output failed its contract; names the field and rule only."""
