"""The operations tests run real workers and subscribers, with the worker tests' fixtures."""

from tests.integration.streams.conftest import publish_as, worker_settings, workers

__all__ = ["publish_as", "worker_settings", "workers"]
