"""``rps publish``: JSON lines checked one by one, the good ones sent, the bad ones kept.

Each line is a CloudEvent or the simple form (see :mod:`producers.inputs`).
A line that breaks a rule is never sent: it is written, with its errors, to the
rejected file, so the publisher can fix it and send that file again. The rest
are sent with back-pressure and counted once Kafka has acknowledged them.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from producers.errors import EventRejected
from producers.inputs import read_line
from producers.receipts import Receipt
from rps.logs import get_logger
from rps.private import private_file
from rps.settings import Settings
from schemas import Event, FieldError, listed

_log = get_logger("producers.files")

PROGRESS_FROM_LINES = 1000
"""Files with at least this many lines get a progress bar (on a terminal)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One line that was not sent, and why."""

    line: int
    event_id: str | None
    errors: tuple[FieldError, ...]

    def describe(self) -> str:
        """``line 12 (id abc): data.value.postcode: postcode_format``: fields and rules only.

        At most :data:`schemas.MAX_LISTED` errors are named; the rest are counted.
        """
        which = f"line {self.line}" + (f" (id {self.event_id})" if self.event_id else "")
        shown, more = listed(self.errors)
        text = "; ".join(f"{e.field}: {e.rule}" for e in shown)
        return f"{which}: {text}" + (f"; and {more} more" if more else "")


@dataclass(slots=True)
class Summary:
    """What one run did."""

    dry_run: bool
    sent: int = 0
    valid: int = 0
    rejected: int = 0
    rejected_path: Path | None = None
    seconds: float = 0.0
    first_rejections: list[Rejection] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Events acknowledged (or, in a dry run, checked) per second."""
        done = self.valid if self.dry_run else self.sent
        return done / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary as printed: counts, then where the rejected lines went."""
        if self.dry_run:
            head = f"dry run: {self.valid} valid, {self.rejected} rejected, nothing sent"
        else:
            head = f"sent {self.sent}, rejected {self.rejected}"
        out = [f"{head} in {self.seconds:.1f} s ({self.rate:,.0f} events/s)"]
        if self.rejected and self.rejected_path is not None:
            out.append(f"rejected lines and their errors: {self.rejected_path}")
        return out


def default_rejected_path(name: str) -> Path:
    """Where rejected lines go by default: ``FILE.rejected.jsonl``, stdin to ``rejected.jsonl``."""
    return Path("rejected.jsonl") if name == "-" else Path(f"{name}.rejected.jsonl")


class _Rejections:
    """Writes rejected lines to their file, opened only when the first one comes."""

    def __init__(self, path: Path, summary: Summary, keep: int = 10) -> None:
        self._path = path
        self._summary = summary
        self._keep = keep
        self._file: IO[bytes] | None = None

    def add(self, number: int, raw: bytes, rejected: EventRejected) -> None:
        rejection = Rejection(number, rejected.event_id, rejected.errors)
        if self._file is None:
            self._file = private_file(self._path).open("wb")  # the input may be personal
            self._summary.rejected_path = self._path
        shown, more = listed(rejected.errors)
        record: dict[str, object] = {
            "line": number,
            "id": rejected.event_id,
            "errors": [{"field": e.field, "rule": e.rule, "message": e.message} for e in shown],
        }
        if more:
            record["more_errors"] = more
        record["input"] = raw.decode("utf-8", "replace")
        self._file.write(orjson.dumps(record) + b"\n")
        self._summary.rejected += 1
        if len(self._summary.first_rejections) < self._keep:
            self._summary.first_rejections.append(rejection)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


async def publish_file(
    settings: Settings,
    name: str,
    *,
    source: str | None = None,
    rejected_path: Path | None = None,
    dry_run: bool = False,
    progress: bool | None = None,
    stdin: IO[bytes] | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Summary:
    """Check every line of ``name`` (``-`` is standard input) and send the valid ones.

    ``source`` (default ``settings.publisher_source``) fills the simple form
    and is the only ``source`` a CloudEvent line may carry. Raises
    :class:`producers.errors.PublishFailed` when Kafka stops acknowledging.
    """
    source = source if source is not None else settings.publisher_source
    summary = Summary(dry_run=dry_run)
    rejections = _Rejections(rejected_path or default_rejected_path(name), summary)
    total = None if name == "-" else _count_lines(Path(name))
    show = progress if progress is not None else (total or 0) >= PROGRESS_FROM_LINES
    started = time.perf_counter()
    with (
        _Input(name, stdin) as stream,
        _Bar(total, enabled=show and Console(stderr=True).is_terminal) as bar,
    ):
        try:

            def events() -> Iterator[Event]:
                for number, raw in enumerate(stream, 1):
                    line = raw.strip()
                    if not line:
                        continue
                    try:
                        event = read_line(line, source=source, now=clock())
                    except EventRejected as rejected:
                        rejections.add(number, line, rejected)
                        bar.advance()
                        continue
                    summary.valid += 1
                    yield event

            if dry_run:
                for _ in events():
                    bar.advance()
            else:
                await _send(settings, events(), summary, bar)
        finally:
            rejections.close()
            summary.seconds = time.perf_counter() - started
            _log.info(
                "publish finished",
                sent=summary.sent,
                rejected=summary.rejected,
                seconds=round(summary.seconds, 3),
            )
    return summary


async def _send(settings: Settings, events: Iterator[Event], summary: Summary, bar: _Bar) -> None:
    """Send ``events``, counting each once Kafka has acknowledged it."""
    from producers.publisher import Publisher  # aiokafka: not loaded for a dry run

    def acknowledged(_receipt: Receipt) -> None:
        summary.sent += 1
        bar.advance()

    async with Publisher(settings) as publisher:
        await publisher.publish_many(events, on_receipt=acknowledged, revalidate=False)


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"\n")
    return count


class _Input:
    """The named file, or standard input for ``-``, read as bytes."""

    def __init__(self, name: str, stdin: IO[bytes] | None) -> None:
        self._name = name
        self._stdin = stdin
        self._file: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self._name == "-":
            return self._stdin or sys.stdin.buffer
        self._file = Path(self._name).open("rb")
        return self._file

    def __exit__(self, *_exc: Any) -> None:
        if self._file is not None:
            self._file.close()


class _Bar:
    """A rich progress bar on stderr, or nothing at all."""

    def __init__(self, total: int | None, *, enabled: bool) -> None:
        self._progress: Progress | None = None
        self._task: Any = None
        if enabled:
            self._progress = Progress(
                TextColumn("publishing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task("publish", total=total)

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)
