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
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, get_args
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import httpx
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
)

from cbsalert.errors import redact, redact_url
from cbsalert.model import AlertState
from cbsalert.runresult import OUTCOMES, RunResult
from cbsalert.webserver import CONNECTION_LIMIT, IDLE_TIMEOUT_S, BoundedServer

log = logging.getLogger(__name__)

STATES: tuple[str, ...] = get_args(AlertState)
SEVERITIES = ("critical", "warning", "info")
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)


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
        for outcome in OUTCOMES:
            self.runs.labels(outcome)
        for name in ("sent", "failed"):
            self.deliveries.labels(name)
        for name in ("checked", "failed"):
            self.users.labels(name)
        for state in STATES:
            for severity in SEVERITIES:
                self.alerts.labels(state, severity)

    def observe(self, result: RunResult, ended_at: float) -> None:
        """Account for a run that returned a result (a CBS outage included)."""
        self.runs.labels(result.outcome).inc()
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
        if result.outcome == "ok":
            self.last_success.set(ended_at)

    def observe_error(self, duration_s: float, ended_at: float) -> None:
        """Account for a run that raised (state database, run lock, a bug)."""
        self.runs.labels("error").inc()  # the outcome of a run without a result
        self.run_duration.observe(duration_s)
        self.last_run.set(ended_at)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` and ``/healthz`` on a ``BoundedServer`` (see ``cbsalert.webserver`` for
    the bounds that keep clients of this port from taking what the checks need), and the
    routes of ``pages`` (the status page) when given.

    ``/healthz`` answers 200 while ``healthy()`` is true (the scheduler runs) and 503 once
    the service is stopping. It says the process is alive, not that the CBS is fine: that
    is what ``cbsalert_last_success_timestamp_seconds`` and the heartbeat are for.
    """

    def __init__(
        self,
        metrics: Metrics,
        host: str,
        port: int,
        healthy: Callable[[], bool],
        *,
        pages: Pages | None = None,
        connection_limit: int = CONNECTION_LIMIT,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self._server = BoundedServer(
            _app(metrics, healthy, pages), host, port, name="cbsalert-metrics",
            connection_limit=connection_limit, idle_timeout_s=idle_timeout_s,
        )  # fmt: skip

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> MetricsServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class Pages(Protocol):
    """More routes on the same port (``cbsalert.statuspage.StatusPages``): a WSGI app that
    says which paths it answers."""

    def handles(self, path: str) -> bool: ...

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]: ...


def _app(metrics: Metrics, healthy: Callable[[], bool], pages: Pages | None) -> WSGIApplication:
    exposition: WSGIApplication = make_wsgi_app(metrics.registry)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return exposition(environ, start_response)
        if pages is not None and pages.handles(path):
            return pages(environ, start_response)
        if path == "/healthz":
            ok = healthy()
            status, body = ("200 OK", b"ok\n") if ok else ("503 Service Unavailable", b"stopping\n")
        else:
            status, body = "404 Not Found", b"not found: try /metrics or /healthz\n"
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def ping_heartbeat(
    url: str, *, failed: bool, secrets: Sequence[str], timeout_s: float = 10.0
) -> bool:
    """GET ``url`` (or ``url/fail``); a failed ping is logged, never raised.

    Healthchecks.io and its clones take a plain GET as "alive" and ``/fail`` as "alive but
    broken". The URL's path is the secret, and a redirect may lead to another URL holding
    one, so a log line shows the scheme and host of a URL only.
    """
    target = url.rstrip("/") + "/fail" if failed else url
    try:
        response = httpx.get(target, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        moved = " after a redirect" if exc.response.history else ""
        detail = f"HTTP {exc.response.status_code} from {exc.request.url}{moved}"
        log.warning("heartbeat ping failed: %s", redact_url(redact(detail, [*secrets, url])))
        return False
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}"
        log.warning("heartbeat ping failed: %s", redact_url(redact(detail, [*secrets, url])))
        return False
    log.debug("heartbeat ping sent%s", " (fail)" if failed else "")
    return True
