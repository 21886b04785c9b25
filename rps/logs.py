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


def configure(fmt: str = "console", level: str = "info", stream: Any = None) -> None:
    """Configure structlog (and the stdlib root logger it renders through) for this process."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        allow_list,
        structlog.processors.format_exc_info,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream or cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name."""
    return structlog.get_logger(component=name)
