"""``rps publish FILE.csv --mapping MAPPING``: CSV rows checked one by one, the good ones sent.

The rows a rule refuses are never sent: they go to a rejected CSV file (the
header, the rows as they were, and an ``rps_errors`` column naming column and
rule), so the publisher can fix that file and send it again with the same
mapping. ``--dry-run`` and ``rps validate --mapping`` check without sending.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from producers.csv_input import ColumnMapping, Row, read_row, read_rows
from producers.errors import EventRejected
from producers.files import Rejection, Summary
from producers.receipts import Receipt
from rps.logs import get_logger
from rps.settings import Settings
from schemas import Event

_log = get_logger("producers.csv")

ERRORS_COLUMN = "rps_errors"


def default_rejected_csv(name: str) -> Path:
    """Where rejected rows go by default: ``FILE.rejected.csv``."""
    return Path(f"{name}.rejected.csv")


class _RejectedRows:
    """Writes rejected rows to a CSV file opened when the first one comes."""

    def __init__(self, path: Path, summary: Summary, mapping: ColumnMapping, keep: int = 10):
        self._path = path
        self._summary = summary
        self._mapping = mapping
        self._keep = keep
        self._file: IO[str] | None = None
        self._writer: Any = None

    def add(self, row: Row, headers: list[str], rejected: EventRejected) -> None:
        if self._writer is None:
            self._file = self._path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file, delimiter=self._mapping.delimiter)
            self._writer.writerow([*headers, ERRORS_COLUMN])
            self._summary.rejected_path = self._path
        described = "; ".join(f"{e.field}: {e.rule}" for e in rejected.errors)
        self._writer.writerow([*(row.cells.get(h, "") for h in headers), described])
        self._summary.rejected += 1
        if len(self._summary.first_rejections) < self._keep:
            self._summary.first_rejections.append(
                Rejection(row.line, rejected.event_id, rejected.errors)
            )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


async def publish_csv(
    settings: Settings,
    name: str,
    mapping: ColumnMapping,
    *,
    source: str | None = None,
    rejected_path: Path | None = None,
    dry_run: bool = False,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Summary:
    """Check every row of the CSV file ``name`` and send the valid ones (none in a dry run).

    ``source`` (else the mapping's ``[fixed] source``, else ``settings.publisher_source``)
    is the publisher's. Raises ``MappingError`` when a mapped column is not in the file,
    and :class:`producers.errors.PublishFailed` when Kafka stops acknowledging.
    """
    source = source or mapping.source or settings.publisher_source
    summary = Summary(dry_run=dry_run)
    rejections = _RejectedRows(rejected_path or default_rejected_csv(name), summary, mapping)
    started = time.perf_counter()
    with _open_text(Path(name)) as stream:
        try:
            headers, rows = read_rows(stream, mapping)

            def events() -> Iterator[Event]:
                for row in rows:
                    try:
                        event = read_row(row, mapping, source=source, now=clock())
                    except EventRejected as rejected:
                        rejections.add(row, headers, rejected)
                        continue
                    summary.valid += 1
                    yield event

            if dry_run:
                for _ in events():
                    pass
            else:
                from producers.publisher import Publisher  # aiokafka: not loaded for a dry run

                def acknowledged(_receipt: Receipt) -> None:
                    summary.sent += 1

                async with Publisher(settings) as publisher:
                    await publisher.publish_many(
                        events(), on_receipt=acknowledged, revalidate=False
                    )
        finally:
            rejections.close()
            summary.seconds = time.perf_counter() - started
            _log.info(
                "csv publish finished",
                sent=summary.sent,
                rejected=summary.rejected,
                seconds=round(summary.seconds, 3),
            )
    return summary


def _open_text(path: Path) -> IO[str]:
    """The CSV file as text (a byte-order mark, as spreadsheet programs write, is skipped)."""
    return path.open(encoding="utf-8-sig", newline="")
