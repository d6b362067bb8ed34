"""What ``serve`` tells the outside world after each run: one summary log line, the metrics
and the heartbeat ping, each derived from the run's outcome (``RunResult.outcome``), so that
the journal, Prometheus and the dead man's switch never disagree about a run."""

from __future__ import annotations

import logging
import time

from cbsalert.config import Config
from cbsalert.errors import EXIT_OK
from cbsalert.metrics import Metrics, ping_heartbeat
from cbsalert.report import summary_line
from cbsalert.runresult import HEARTBEAT, Ping, RunResult

log = logging.getLogger("cbsalert.scheduler")  # the service's own lines, as they always were


class RunWatch:
    """Accounts for each run of ``serve``, with or without a result."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def finished(self, number: int, config: Config, result: RunResult) -> None:
        """A run that returned a result (a CBS outage included)."""
        self.metrics.observe(result, time.time())
        log_summary(number, result)
        self._ping(config, HEARTBEAT[result.outcome])

    def failed(self, config: Config, duration_s: float) -> None:
        """A run that raised (state database, a bug): outcome ``error``."""
        self.metrics.observe_error(duration_s, time.time())
        self._ping(config, HEARTBEAT["error"])

    def _ping(self, config: Config, ping: Ping | None) -> None:
        if ping is None or config.heartbeat_url is None:
            return
        url = config.heartbeat_url.get_secret_value()
        ping_heartbeat(url, failed=ping == "fail", secrets=config.secrets())


def log_summary(number: int, result: RunResult) -> None:
    """``run N finished: ...``, at INFO when its exit code would be 0, else WARNING; under
    ``--log-format json`` with the counts as fields."""
    counts = result.counts()
    fields = {
        "event": "run_finished",
        "run": number,
        "outcome": result.outcome,
        "date": result.day.isoformat(),
        "users_checked": result.users_checked,
        "users_total": result.users_total,
        "alerts_new": counts["new"],
        "alerts_escalated": counts["escalated"],
        "alerts_unsilenced": counts["unsilenced"],
        "alerts_repeat": counts["repeat"],
        "alerts_firing": counts["firing"],
        "alerts_resolved": counts["resolved"],
        "deliveries_sent": result.deliveries_sent,
        "deliveries_failed": result.deliveries_failed,
        "api_calls": result.api_calls,
        "duration_s": round(result.duration_s, 3),
    }
    level = logging.INFO if result.exit_code == EXIT_OK else logging.WARNING
    log.log(level, "run %d finished: %s", number, summary_line(result), extra={"fields": fields})
