"""The progress bar `rps replay` shows on stderr: records read, of how many, and the rate.

Kept apart from :mod:`cli.replay` so that rich is imported only when a replay runs.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text


class _Rate(ProgressColumn):
    """Events per second, as measured by the progress bar."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s")


class _Count(ProgressColumn):
    """Records read so far, of how many."""

    def render(self, task: Task) -> Text:
        total = f"{task.total:,.0f}" if task.total is not None else "?"
        return Text(f"{task.completed:,.0f}/{total} events")


def replay_bar() -> Progress:
    """A bar on stderr that stays on screen once the replay is done."""
    columns = (TextColumn("replaying"), BarColumn(), _Count(), _Rate(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=False)
