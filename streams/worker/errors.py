"""Errors raised by the worker's adapters.

Hierarchy::

    StreamsError             root of everything this package raises
    ├── PoisonMessage        an input that can never be processed: dead-letter it, then commit
    └── OutputRejected       an output the contracts refuse (a bug): fail the process, never skip

Withholding a delivery is a decision with a reason, never an exception.
"""

from __future__ import annotations


class StreamsError(Exception):
    """Root of the worker's errors."""


class PoisonMessage(StreamsError):
    """An input that can never be processed; ``reason`` says why (a rule code, no values)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class OutputRejected(StreamsError):
    """An output failed its contract; names the field and rule only."""
