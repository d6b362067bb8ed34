"""``Metrics``: what one run's ``RunResult`` turns into on ``/metrics``.

The body is read back with prometheus_client's own parser, so the tests see the series as a
Prometheus server would. The port serving it is tested in test_metrics_server.py.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from cbsalert.metrics import Metrics
from cbsalert.model import AlertEvent, CheckError
from cbsalert.runresult import RunResult
from tests.state_helpers import backup

README = Path(__file__).resolve().parent.parent / "README.md"
ENDED = 1_800_000_000.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(metrics: Metrics) -> Samples:
    """Every sample of the body, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def run(**fields: Any) -> RunResult:
    return RunResult(date(2026, 11, 22), "UTC", False, **fields)


def partial_run() -> RunResult:
    """Three users, bob not checked; a new critical alert, a resolved warning, and an alert
    still firing from before with no evidence this day (not reported)."""
    return run(
        users_total=3,
        errors=[CheckError("bob", "ListBackupJobMode", "HTTP 500")],
        events=[
            AlertEvent(backup(1), "new"),
            AlertEvent(backup(1, firing=False, set_id="S2", severity="warning"), "resolved"),
            AlertEvent(backup(1, firing=False, set_id="S3"), "firing"),
        ],
        deliveries_sent=2,
        deliveries_failed=1,
        calls_by_operation={"ListBackupSets": 3, "ListBackupJobMode": 4},
        api_errors_by_operation={"ListBackupJobMode": 1},
        duration_s=4.0,
    )


def test_every_series_the_readme_documents_is_rendered_from_the_start() -> None:
    documented = set(re.findall(r"^\s*\| `(cbsalert_\w+)", README.read_text(), re.MULTILINE))
    assert len(documented) == 9
    rendered = {f.name for f in text_string_to_metric_families(Metrics().render().decode())}
    # The parser names a counter without its _total suffix.
    assert {name.removesuffix("_total") for name in documented} <= rendered


def test_an_observed_run_sets_each_series_from_its_result() -> None:
    metrics = Metrics()
    metrics.observe(partial_run(), ENDED)
    got = samples(metrics)
    assert got[("cbsalert_runs_total", (("outcome", "partial"),))] == 1
    assert got[("cbsalert_runs_total", (("outcome", "ok"),))] == 0
    assert got[("cbsalert_run_duration_seconds_count", ())] == 1
    assert got[("cbsalert_run_duration_seconds_sum", ())] == 4.0
    assert got[("cbsalert_alerts", (("severity", "critical"), ("state", "new")))] == 1
    assert got[("cbsalert_alerts", (("severity", "warning"), ("state", "resolved")))] == 1
    assert got[("cbsalert_alerts", (("severity", "critical"), ("state", "firing")))] == 0
    assert got[("cbsalert_deliveries_total", (("result", "sent"),))] == 2
    assert got[("cbsalert_deliveries_total", (("result", "failed"),))] == 1
    assert got[("cbsalert_api_calls_total", (("operation", "ListBackupJobMode"),))] == 4
    assert got[("cbsalert_api_calls_total", (("operation", "ListBackupSets"),))] == 3
    assert got[("cbsalert_api_errors_total", (("operation", "ListBackupJobMode"),))] == 1
    assert got[("cbsalert_users", (("result", "checked"),))] == 2
    assert got[("cbsalert_users", (("result", "failed"),))] == 1
    assert got[("cbsalert_last_run_timestamp_seconds", ())] == ENDED
    assert got[("cbsalert_last_success_timestamp_seconds", ())] == 0  # bob was not checked


def test_alerts_and_users_describe_the_last_run_while_counters_add_up() -> None:
    metrics = Metrics()
    metrics.observe(partial_run(), ENDED)
    metrics.observe(run(users_total=3, deliveries_sent=1, duration_s=1.0), ENDED + 60)
    got = samples(metrics)
    assert got[("cbsalert_alerts", (("severity", "critical"), ("state", "new")))] == 0
    assert got[("cbsalert_users", (("result", "checked"),))] == 3
    assert got[("cbsalert_users", (("result", "failed"),))] == 0
    assert got[("cbsalert_deliveries_total", (("result", "sent"),))] == 3
    assert got[("cbsalert_runs_total", (("outcome", "ok"),))] == 1
    assert got[("cbsalert_last_success_timestamp_seconds", ())] == ENDED + 60


def test_a_cbs_outage_and_a_run_that_raised_are_failures_that_leave_last_success_alone() -> None:
    metrics = Metrics()
    metrics.observe(run(users_total=2, duration_s=1.0), ENDED)
    metrics.observe(run(users_total=2, fatal="connection refused"), ENDED + 60)
    metrics.observe_error(2.5, ENDED + 120)
    got = samples(metrics)
    assert got[("cbsalert_runs_total", (("outcome", "cbs_unreachable"),))] == 1
    assert got[("cbsalert_runs_total", (("outcome", "error"),))] == 1
    assert got[("cbsalert_users", (("result", "failed"),))] == 2
    assert got[("cbsalert_run_duration_seconds_count", ())] == 3
    assert got[("cbsalert_last_run_timestamp_seconds", ())] == ENDED + 120
    assert got[("cbsalert_last_success_timestamp_seconds", ())] == ENDED
