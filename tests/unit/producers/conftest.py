"""Fixtures of the publishing tests."""

from tests.unit.producers.support import fresh_logging

__all__ = ["fresh_logging"]
