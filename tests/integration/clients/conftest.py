"""The worker fixtures, for tests that drive the real worker with clients written elsewhere."""

from tests.integration.streams.conftest import publish_as, worker_settings, workers

__all__ = ["publish_as", "worker_settings", "workers"]
