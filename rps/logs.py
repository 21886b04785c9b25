"""structlog, configured once per process, with an allow-list that keeps personal data out.

Only fields named in ``ALLOWED_FIELDS`` (ids, types, sources, authorities,
reasons, counts and timings) pass through; the value of any other field is
replaced by ``"***"``. Attribute *values* therefore never reach a log line,
whatever a caller passes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

MASK = "***"

ALLOWED_FIELDS = frozenset(
    {
        # structlog's own
        "event",
        "level",
        "timestamp",
        "logger",
        "exc_info",
        "stack_info",
        "_record",  # structlog's own, for records from the stdlib loggers
        "_from_structlog",
        # identifiers and routing
        "event_id",
        "decision_id",
        "claim_id",
        "type",
        "source",
        "resident",
        "resident_id",
        "authority",
        "attribute",
        "attributes",
        "decision",
        "reason",
        "rule",
        "field",
        "topic",
        "topics",
        "partition",
        "partitions",
        "offset",
        "position",
        "key_kind",
        "version",
        "app_id",
        "worker",
        "store",
        "component",
        "command",
        "status",
        "error_type",
        "host",
        "port",
        "url",
        "bootstrap_servers",
        "database",
        "path",
        "pid",
        "line",
        "kafka_version",
        "method",
        "key_id",
        "role",
        "voucher",
        "change",
        # counts and timings
        "count",
        "sent",
        "rejected",
        "received",
        "applied",
        "delivered",
        "withheld",
        "elapsed",
        "elapsed_ms",
        "seconds",
        "rate",
        "retry_in",
        "attempt",
        "residents",
        "events",
    }
)
_ALLOWED_SUFFIXES = ("_count", "_ms", "_seconds", "_id", "_total")


def allow_list(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask every field whose name is not on the allow-list."""
    for key in list(event_dict):
        if key not in ALLOWED_FIELDS and not key.endswith(_ALLOWED_SUFFIXES):
            event_dict[key] = MASK
    return event_dict


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing, so a logger configured
    while stderr was temporarily replaced (a test's capture, say) never writes to a closed file."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _renderer(fmt: str) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=False)  # no escape codes, terminal or file


def configure(fmt: str = "console", level: str = "info", stream: Any = None) -> None:
    """Configure structlog, and route the stdlib loggers (Faust's, aiokafka's, uvicorn's)
    through the same processors, allow-list and renderer, for this process."""
    renderer = _renderer(fmt)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        allow_list,
        structlog.processors.format_exc_info,
        renderer,
    ]
    out = stream or cast(TextIO, _CurrentStderr())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(handler)
    root.addHandler(library_handler(fmt, out))
    root.setLevel(library_level(level))


_HANDLER = "rps"


def library_level(level: str) -> int:
    """The stdlib loggers' level: warnings and above, whatever ``level`` we log at. A library's
    own message is free text the allow-list cannot see into, and aiokafka's debug lines hold
    whole records: personal data."""
    return max(logging.WARNING, logging.getLevelNamesMapping()[level.upper()])


def library_handler(fmt: str = "console", stream: Any = None) -> logging.Handler:
    """A stdlib handler that renders library records as our own lines: same format,
    timestamps, level names and allow-list (the message is the ``event``)."""
    handler = logging.StreamHandler(stream or cast(TextIO, _CurrentStderr()))
    handler.set_name(_HANDLER)
    handler.addFilter(_Repeats())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                allow_list,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _renderer(fmt),
            ],
        )
    )
    return handler


class _Repeats(logging.Filter):
    """Lets a library's line through once a minute at most: a client retrying a missing topic
    or an absent broker says so once, not a hundred times."""

    def __init__(self, quiet_seconds: float = 60.0, remembered: int = 1000) -> None:
        super().__init__()
        self._quiet = quiet_seconds
        self._remembered = remembered
        self._seen: dict[tuple[str, int, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        last = self._seen.get(key)
        if last is not None and record.created - last < self._quiet:
            return False
        if len(self._seen) >= self._remembered:
            self._seen.clear()
        self._seen[key] = record.created
        return True


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """The stdlib logging configuration (``logging.config.dictConfig``) for a framework that
    sets logging up itself (the Faust worker): the root logger through :func:`library_handler`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {_HANDLER: {"()": library_handler, "fmt": fmt}},
        "root": {"level": library_level(level), "handlers": [_HANDLER]},
    }


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name."""
    return structlog.get_logger(component=name)
