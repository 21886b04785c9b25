"""Fixtures of the pull-feed tests: plain producing and reading on the test's topics."""

from tests.integration.consumers.conftest import kafka_io

__all__ = ["kafka_io"]
