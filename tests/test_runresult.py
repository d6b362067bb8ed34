"""A run's outcome is defined once (``RunResult.outcome``): the exit code of ``check``, the
``cbsalert_runs_total{outcome}`` label, the ``outcome`` of ``serve``'s summary line and the
heartbeat ping all derive from it, so they can never disagree about one run."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from prometheus_client import generate_latest

from cbsalert.errors import EXIT_CBS, EXIT_OK, EXIT_PARTIAL
from cbsalert.metrics import Metrics
from cbsalert.model import CheckError
from cbsalert.runresult import HEARTBEAT, OUTCOMES, RunResult
from cbsalert.runwatch import log_summary

DAY = date(2026, 11, 22)


def result(*, fatal: bool = False, errors: int = 0, failed_deliveries: int = 0) -> RunResult:
    run = RunResult(DAY, "Europe/Amsterdam", dry_run=False, users_total=3)
    run.errors = [CheckError(f"u{i}", "ListBackupJobMode", "Internal error") for i in range(errors)]
    run.fatal = "the CBS cannot be used: refused" if fatal else None
    run.deliveries_failed = failed_deliveries
    return run


@pytest.mark.parametrize(
    ("run", "outcome", "exit_code", "ping"),
    [
        (result(), "ok", EXIT_OK, "ok"),
        (result(errors=1), "partial", EXIT_PARTIAL, None),
        (result(fatal=True), "cbs_unreachable", EXIT_CBS, "fail"),
        # Every user checked, but someone was not told: exit 1, while the run itself worked.
        (result(failed_deliveries=1), "ok", EXIT_PARTIAL, "ok"),
        (result(errors=1, failed_deliveries=1), "partial", EXIT_PARTIAL, None),
        (result(fatal=True, failed_deliveries=1), "cbs_unreachable", EXIT_CBS, "fail"),
    ],
    ids=["ok", "partial", "cbs", "ok-undelivered", "partial-undelivered", "cbs-undelivered"],
)
def test_the_outcome_decides_the_exit_code_and_the_heartbeat(
    run: RunResult, outcome: str, exit_code: int, ping: str | None
) -> None:
    assert (run.outcome, run.exit_code, HEARTBEAT[run.outcome]) == (outcome, exit_code, ping)


def test_a_run_that_raised_pings_fail_and_has_its_own_metrics_label() -> None:
    assert HEARTBEAT["error"] == "fail"
    assert OUTCOMES == ("ok", "partial", "cbs_unreachable", "error")


@pytest.mark.parametrize("run", [result(), result(errors=1), result(fatal=True)])
def test_the_metrics_count_a_run_under_its_outcome(run: RunResult) -> None:
    metrics = Metrics()
    metrics.observe(run, 0.0)
    body = generate_latest(metrics.registry).decode()
    for name in OUTCOMES:
        count = 1.0 if name == run.outcome else 0.0
        assert f'cbsalert_runs_total{{outcome="{name}"}} {count}' in body


@pytest.mark.parametrize(
    ("run", "level"),
    [
        (result(), logging.INFO),
        (result(failed_deliveries=1), logging.WARNING),
        (result(errors=1), logging.WARNING),
        (result(fatal=True), logging.WARNING),
    ],
)
def test_the_summary_line_carries_the_outcome_and_warns_unless_the_exit_code_is_0(
    run: RunResult, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cbsalert")
    log_summary(7, run)
    (record,) = [r for r in caplog.records if r.getMessage().startswith("run 7 finished")]
    assert record.levelno == level
    assert record.fields["outcome"] == run.outcome  # type: ignore[attr-defined]
