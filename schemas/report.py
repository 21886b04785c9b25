"""Check files of JSON-lines events without sending anything: what ``rps validate`` runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from schemas._errors import listed
from schemas.validation import InvalidEvent, check


@dataclass(frozen=True, slots=True)
class BadLine:
    """One event that failed validation: where it is and why (never what it held)."""

    source: str
    line: int
    error: InvalidEvent

    def __str__(self) -> str:
        event = self.error.event_id or "-"
        shown, more = listed(self.error.errors)
        reasons = "; ".join(f"{error.field} {error.rule} ({error.message})" for error in shown)
        return f"{self.source}:{self.line}: event {event}: {reasons}" + (
            f"; and {more} more" if more else ""
        )


@dataclass(slots=True)
class Report:
    """What a validation run found: how many events were read and which were bad."""

    checked: int = 0
    bad: list[BadLine] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.checked - len(self.bad)

    @property
    def ok(self) -> bool:
        return not self.bad

    def summary(self, files: int) -> str:
        events = "event" if self.checked == 1 else "events"
        noun = "file" if files == 1 else "files"
        return (
            f"{self.checked} {events} in {files} {noun}: "
            f"{self.valid} valid, {len(self.bad)} invalid"
        )


def check_lines(
    lines: Iterable[bytes], source: str, *, now: dt.datetime | None = None
) -> Iterator[BadLine | None]:
    """For each non-blank line, ``None`` when it holds a valid event, else the :class:`BadLine`."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        result = check(line, now=now)
        yield BadLine(source, number, result) if isinstance(result, InvalidEvent) else None


def check_files(
    paths: Sequence[str], stdin: BinaryIO, report: Report, *, now: dt.datetime | None = None
) -> Iterator[BadLine]:
    """Check every file (``-`` is ``stdin``), counting into ``report``; yield each bad event."""
    for name in paths:
        if name == "-":
            yield from _tally(report, check_lines(stdin, "<stdin>", now=now))
            continue
        with Path(name).open("rb") as stream:
            yield from _tally(report, check_lines(stream, name, now=now))


def _tally(report: Report, results: Iterable[BadLine | None]) -> Iterator[BadLine]:
    for result in results:
        report.checked += 1
        if result is not None:
            report.bad.append(result)
            yield result
