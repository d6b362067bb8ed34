"""Watching the watcher: Prometheus metrics, ``/healthz``, and the heartbeat ping.

A bot that tells people about failed backups is only useful while it runs. ``serve``
exposes what its runs did (``metrics_port``) and pings a dead man's switch after each run
(``heartbeat_url``, Healthchecks.io style), so that a dead or stuck cbsalert is noticed by
something other than cbsalert.

Each ``Metrics`` has its own ``CollectorRegistry`` (not the process-wide default), so that
several can live in one process (tests) and only cbsalert's series are exposed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import get_args

import httpx
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from cbsalert.errors import redact
from cbsalert.httpserve import QuietHandler
from cbsalert.model import AlertState
from cbsalert.pipeline import RunResult

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "partial", "cbs_unreachable", "error")
STATES: tuple[str, ...] = get_args(AlertState)
SEVERITIES = ("critical", "warning", "info")
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)


def outcome(result: RunResult) -> str:
    """``ok`` only when every watched user was checked: that is what "working" means here."""
    if result.fatal:
        return "cbs_unreachable"
    return "partial" if result.errors else "ok"


class Metrics:
    """The series a run updates; ``render`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.runs = Counter(
            "cbsalert_runs",
            "Runs by outcome: ok (every user checked), partial (some users could not be "
            "checked), cbs_unreachable (the CBS could not be used), error (the run failed).",
            ["outcome"],
            registry=r,
        )
        self.run_duration = Histogram(
            "cbsalert_run_duration_seconds",
            "How long a run took, deliveries included.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.alerts = Gauge(
            "cbsalert_alerts",
            "Alerts reported by the last completed run, by state and severity.",
            ["state", "severity"],
            registry=r,
        )
        self.deliveries = Counter(
            "cbsalert_deliveries", "Message deliveries by result.", ["result"], registry=r
        )
        self.api_calls = Counter(
            "cbsalert_api_calls", "CBS API requests by operation.", ["operation"], registry=r
        )
        self.api_errors = Counter(
            "cbsalert_api_errors",
            "CBS API calls that failed (after retries) by operation.",
            ["operation"],
            registry=r,
        )
        self.users = Gauge(
            "cbsalert_users",
            "Watched users in the last completed run: checked, or failed to check.",
            ["result"],
            registry=r,
        )
        self.last_run = Gauge(
            "cbsalert_last_run_timestamp_seconds",
            "Unix time the last run ended, whatever its outcome.",
            registry=r,
        )
        self.last_success = Gauge(
            "cbsalert_last_success_timestamp_seconds",
            "Unix time the last run that checked every watched user ended.",
            registry=r,
        )
        # Series that exist from the start read 0 rather than "no data" in dashboards.
        for name in OUTCOMES:
            self.runs.labels(name)
        for name in ("sent", "failed"):
            self.deliveries.labels(name)
        for name in ("checked", "failed"):
            self.users.labels(name)
        for state in STATES:
            for severity in SEVERITIES:
                self.alerts.labels(state, severity)

    def observe(self, result: RunResult, ended_at: float) -> None:
        """Account for a run that returned a result (a CBS outage included)."""
        name = outcome(result)
        self.runs.labels(name).inc()
        self.run_duration.observe(result.duration_s)
        self.deliveries.labels("sent").inc(result.deliveries_sent)
        self.deliveries.labels("failed").inc(result.deliveries_failed)
        for operation, count in result.calls_by_operation.items():
            self.api_calls.labels(operation).inc(count)
        for operation, count in result.api_errors_by_operation.items():
            self.api_errors.labels(operation).inc(count)
        counts = {(state, severity): 0 for state in STATES for severity in SEVERITIES}
        for event in result.reported:
            key = (event.state, event.finding.severity)
            counts[key] = counts.get(key, 0) + 1
        for (state, severity), count in counts.items():
            self.alerts.labels(state, severity).set(count)
        self.users.labels("checked").set(result.users_checked)
        self.users.labels("failed").set(result.users_total - result.users_checked)
        self.last_run.set(ended_at)
        if name == "ok":
            self.last_success.set(ended_at)

    def observe_error(self, duration_s: float, ended_at: float) -> None:
        """Account for a run that raised (state database, run lock, a bug)."""
        self.runs.labels("error").inc()
        self.run_duration.observe(duration_s)
        self.last_run.set(ended_at)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` and ``/healthz`` on a small threaded HTTP server.

    ``/healthz`` answers 200 while ``healthy()`` is true (the scheduler runs) and 503 once
    the service is stopping. It says the process is alive, not that the CBS is fine: that
    is what ``cbsalert_last_success_timestamp_seconds`` and the heartbeat are for.
    """

    def __init__(self, metrics: Metrics, host: str, port: int, healthy: Callable[[], bool]) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(metrics, healthy))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="cbsalert-metrics",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, healthy: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                self.send_body(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = healthy()
                self.send_body(200 if ok else 503, b"ok\n" if ok else b"stopping\n", "text/plain")
            else:
                self.send_body(404, b"not found: try /metrics or /healthz\n", "text/plain")

    return Handler


def ping_heartbeat(
    url: str, *, failed: bool, secrets: Sequence[str], timeout_s: float = 10.0
) -> bool:
    """GET ``url`` (or ``url/fail``); a failed ping is logged, never raised.

    Healthchecks.io and its clones take a plain GET as "alive" and ``/fail`` as "alive but
    broken"; the URL's path is the secret, so it never appears in a log line.
    """
    target = url.rstrip("/") + "/fail" if failed else url
    try:
        response = httpx.get(target, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        message = redact(f"{type(exc).__name__}: {exc}", [*secrets, url, target])
        log.warning("heartbeat ping failed: %s", message)
        return False
    log.debug("heartbeat ping sent%s", " (fail)" if failed else "")
    return True
