"""The names Faust gives the worker's consumer group and changelog topics, without importing Faust.

Operator tools (replay, rebuild) and the tests need them while no worker runs.
"""

from __future__ import annotations

from rps.settings import Settings


def faust_id(settings: Settings) -> str:
    """The consumer group and changelog prefix: one per topic prefix."""
    return f"{settings.topic_prefix}.{settings.app_id}"


def changelog_topic(settings: Settings, table: str = "profiles") -> str:
    """A worker table's changelog topic: Faust names it ``<app id>-<table>-changelog``."""
    return f"{faust_id(settings)}-{table}-changelog"
