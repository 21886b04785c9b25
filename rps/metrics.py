"""Metrics and health over HTTP, the same for every long-running process.

``serve(settings, health)`` starts a small threaded HTTP server on
``settings.metrics_host:settings.metrics_port`` (loopback by default; port 0:
none) that answers:

- ``/metrics``: Prometheus text format from prometheus-client's default
  registry, which holds the process collector (CPU, memory, open files) and
  every metric the process defines;
- ``/livez``: 200 while the process's event loop beats (:func:`heartbeat`),
  503 once it has not beaten for ``stale_seconds``;
- ``/readyz``: 200 once every readiness check holds, else 503 naming the
  checks that do not (``joined``, ``restored``, ``producing`` ...).

The server runs in a thread, so a scrape never waits on the event loop; the
checks it calls only read flags. Metric labels never carry a resident id or
any personal value: only types, outcomes, reasons, topics and partitions.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import Gauge, make_wsgi_app

from rps.logs import get_logger
from rps.settings import Settings

__all__ = ["CONSUMER_LAG", "Health", "MetricsServer", "heartbeat", "serve"]

log = get_logger("metrics")

CONSUMER_LAG = Gauge(
    "rps_consumer_lag_records",
    "Records between an assigned partition's end and the consumer's position.",
    ["group", "topic", "partition"],
)
"""Shared by every consuming process (worker, subscribers, read model): one name, one meaning."""

Check = Callable[[], bool]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Health:
    """A process's liveness (its loop beats) and readiness (every named check holds)."""

    def __init__(self, checks: Mapping[str, Check] | None = None, stale_seconds: float = 30.0):
        self._checks = dict(checks or {})
        self._flags: dict[str, bool] = {}
        self._stale = stale_seconds
        self._beat = time.monotonic()

    def require(self, *names: str) -> None:
        """Add readiness conditions, unmet until :meth:`met` says otherwise."""
        for name in names:
            self._flags.setdefault(name, False)

    def met(self, name: str, value: bool = True) -> None:
        """Say whether the condition ``name`` holds now."""
        self._flags[name] = value

    def check(self, name: str, check: Check) -> None:
        """Add a readiness condition evaluated at each request."""
        self._checks[name] = check

    def beat(self) -> None:
        """The event loop is alive (called by :func:`heartbeat`)."""
        self._beat = time.monotonic()

    @property
    def live(self) -> bool:
        return time.monotonic() - self._beat < self._stale

    def unmet(self) -> list[str]:
        """The readiness conditions that do not hold now, by name."""
        unmet = [name for name, value in self._flags.items() if not value]
        for name, check in self._checks.items():
            try:
                ok = check()
            except Exception:  # a check that cannot tell is not met
                ok = False
            if not ok:
                unmet.append(name)
        return sorted(unmet)


async def heartbeat(health: Health, every: float = 1.0) -> None:
    """Beat ``health`` from the event loop until cancelled: /livez fails when the loop stalls."""
    while True:
        health.beat()
        await asyncio.sleep(every)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _app(health: Health) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    metrics = make_wsgi_app()

    def answer(start: StartResponse, ok: bool, body: dict[str, object]) -> list[bytes]:
        data = json.dumps(body).encode()
        status = "200 OK" if ok else "503 Service Unavailable"
        start(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        return [data]

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start)  # type: ignore[no-any-return]
        if path == "/livez":
            live = health.live
            return answer(start, live, {"status": "live" if live else "stalled"})
        if path == "/readyz":
            unmet = health.unmet()
            return answer(
                start, not unmet, {"status": "ready" if not unmet else "not ready", "unmet": unmet}
            )
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics, /livez or /readyz\n"]

    return app


class MetricsServer:
    """The running server: its port (useful when 0 asked the system for one) and its stop."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(settings: Settings, health: Health, component: str) -> MetricsServer | None:
    """Start the metrics and health server when ``settings.metrics_port`` is set (else None)."""
    if not settings.metrics_port:
        return None
    return start(settings.metrics_host, settings.metrics_port, health, component)


def start(host: str, port: int, health: Health, component: str) -> MetricsServer:
    """Start the metrics and health server on ``host:port`` (0: any free port)."""
    server = make_server(
        host, port, _app(health), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    log.info("metrics and health served", host=host, port=server.server_port, command=component)
    return MetricsServer(server, thread)
