"""What a check saw, as job history rows (cbsalert.historyrows): pure, no server."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cbsalert.historyrows import Verdicts, job_row, snapshot_rows, unchecked_rows
from cbsalert.jobhistory import HistoryJob
from cbsalert.model import JobResult, UserSnapshot
from cbsalert.records import BackupJob, JobReport
from cbsalert.rules import RuleBase
from tests.test_rules import DAY, ZONE, job, rule, snap

DEFAULTS = Verdicts.of([])


@pytest.mark.parametrize(
    ("status", "end", "outcome"),
    [
        ("BS_STOP_SUCCESS", "2026-11-22 22:30:00", "ok"),
        ("BS_STOP_SUCCESS_WITH_WARNING", "2026-11-22 22:30:00", "warning"),
        ("BS_STOP_BY_USER", "2026-11-22 22:30:00", "warning"),
        ("BS_STOP_BY_SYSTEM_ERROR", "2026-11-22 22:30:00", "failed"),
        ("BS_SOMETHING_NEW", "2026-11-22 22:30:00", "failed"),  # unknown is never ok
        ("BS_STILL_RUNNING", "2026-11-22 22:30:00", "failed"),  # ended: an unknown status
        ("", None, "running"),
    ],
)
def test_a_job_s_outcome_is_what_backup_status_calls_it(
    status: str, end: str | None, outcome: str
) -> None:
    assert DEFAULTS.outcome(job(status=status, end=end)) == outcome


def test_the_config_s_backup_status_rule_decides_what_is_ok() -> None:
    lenient = rule(kind="backup_status", ok_statuses=["BS_STOP_SUCCESS", "BS_STOP_BY_USER"])
    verdicts = Verdicts.of([rule(kind="error_count"), lenient])
    assert verdicts.outcome(job(status="BS_STOP_BY_USER")) == "ok"
    assert DEFAULTS.outcome(job(status="BS_STOP_BY_USER")) == "warning"


def test_a_job_without_a_report_is_running_or_failed() -> None:
    running, ended = job(end=None), job()
    assert DEFAULTS.outcome(JobResult(running.job, None, None)) == "running"
    assert DEFAULTS.outcome(JobResult(ended.job, None, None)) == "failed"


def test_a_job_row_holds_its_report_s_counts_sizes_and_times() -> None:
    record = BackupJob.model_validate(
        {"StartTime": "2026-11-22 22:00:00", "EndTime": "2026-11-22 22:30:00",
         "BackupSetID": "100", "BackupSetName": "Documents", "BackupJobMode": "S"}
    )  # fmt: skip
    report = JobReport.model_validate(
        {"BackupJobStatus": "BS_STOP_SUCCESS", "StartTime": "2026-11-22 22:00:05",
         "EndTime": "2026-11-22 23:10:00", "NumOfErrorEntries": 0, "NumOfWarnEntries": "2",
         "NumOfNewFiles": 5, "TotalNewFilesSize": 50, "NumOfUpdatedFiles": 12400,
         "TotalUpdatedFilesSize": "9000000", "NumOfDeletedFiles": 3,
         "TotalDeletedFilesSize": 30, "NumOfMovedFiles": 1, "TotalMovedFilesSize": 10,
         "DedupeOriginalSize": 123456789, "NumOfCopiedFiles": 0}
    )  # fmt: skip
    user = snap([JobResult(record, "D1", report)])
    user.owner = "Acme"

    row = job_row(user, user.jobs[0], DEFAULTS)

    start = datetime(2026, 11, 22, 22, 0, 5, tzinfo=ZONE)
    assert row == HistoryJob(
        login="obm", backup_set_id="100", destination_id="D1", day=DAY, outcome="ok",
        job_id="2026-11-22-22-00-00", mode="S", status="BS_STOP_SUCCESS", start_time=start,
        end_time=datetime(2026, 11, 22, 23, 10, tzinfo=ZONE), errors=0, warnings=2,
        new_files=5, updated_files=12400, deleted_files=3, new_size=50, updated_size=9000000,
        deleted_size=30, owner="Acme", backup_set_name="Documents", moved_files=1,
        moved_size=10, dedupe_original_size=123456789,
    )  # fmt: skip
    assert row.start_time is not None and row.start_time.astimezone(UTC).hour == 21
    assert row.changed_files == 12408 and row.duration_s == 4195


def test_an_unreadable_count_is_unknown_in_history_not_zero() -> None:
    row = job_row(snap([job()]), job(), DEFAULTS)  # the report has no file counts
    assert (row.new_files, row.updated_files, row.changed_files) == (None, None, None)
    assert (row.errors, row.warnings) == (0, 0)


def test_a_day_s_rows_are_its_jobs_per_destination_and_the_sets_that_did_not_run() -> None:
    user = snap([job(dest="D1"), job(dest="D2"), job(start="2026-11-22 23:00:00", dest="D1")])

    rows = snapshot_rows(user, DEFAULTS)

    assert [(r.backup_set_id, r.destination_id, r.outcome) for r in rows] == [
        ("100", "D1", "ok"), ("100", "D2", "ok"), ("100", "D1", "ok"), ("200", None, "missed"),
    ]  # fmt: skip
    assert rows[-1].backup_set_name == "Exchange"


def test_a_set_that_ran_only_by_hand_where_a_scheduled_backup_was_due_also_missed_it() -> None:
    scheduled = rule(kind="missing_backup")  # modes: S
    by_hand = snap([job(mode="M")])

    rows = snapshot_rows(by_hand, DEFAULTS, [scheduled])

    assert [(r.backup_set_id, r.outcome) for r in rows] == [
        ("100", "ok"), ("100", "missed"), ("200", "missed"),
    ]  # fmt: skip
    # With no rule that wants a scheduled backup, a manual job is the day's backup.
    assert [r.outcome for r in snapshot_rows(by_hand, DEFAULTS)] == ["ok", "missed"]
    # Nor on a day the rule does not expect one.
    weekly = rule(kind="missing_backup", days=["mon"])
    assert [r.outcome for r in snapshot_rows(by_hand, DEFAULTS, [weekly])] == ["ok", "not_due"]


def test_a_user_with_no_set_and_no_job_has_one_missed_row_for_the_day() -> None:
    [row] = snapshot_rows(snap([], expected={}), DEFAULTS)
    assert (row.backup_set_id, row.outcome, row.day) == ("", "missed", DAY)


def test_a_set_its_schedule_does_not_run_that_weekday_is_not_due_rather_than_missed() -> None:
    weekly = rule(kind="missing_backup", days=["mon"], applies_to={"backup_sets": ["Exchange"]})
    daily = rule(kind="missing_backup", applies_to={"backup_sets": ["Documents"]})
    other = rule(kind="backup_status")  # no say on schedules
    sunday, monday = snap([]), snap([], day=date(2026, 11, 23))

    def outcomes(user: UserSnapshot, *rules: RuleBase) -> dict[str, str]:
        return {r.backup_set_id: r.outcome for r in snapshot_rows(user, DEFAULTS, rules)}

    assert outcomes(sunday, weekly, daily, other) == {"100": "missed", "200": "not_due"}
    assert outcomes(monday, weekly, daily, other) == {"100": "missed", "200": "missed"}
    assert outcomes(sunday, other) == {"100": "missed", "200": "missed"}
    # Two rules with a say: due when either says so.
    assert outcomes(sunday, weekly, rule(kind="missing_backup", id="all"))["200"] == "missed"
    # A user with no set known and nothing due that day.
    weekdays = rule(kind="missing_backup", days=["mon", "tue", "wed", "thu", "fri"])
    [row] = snapshot_rows(snap([], expected={}), DEFAULTS, [weekdays])
    assert (row.backup_set_id, row.outcome) == ("", "not_due")


def test_each_user_not_checked_gets_one_row() -> None:
    rows = unchecked_rows(["bob", "ann", "bob"], DAY, {"bob": "Acme"})
    assert [(r.login, r.owner, r.backup_set_id, r.outcome) for r in rows] == [
        ("bob", "Acme", "", "unchecked"), ("ann", "", "", "unchecked"),
    ]  # fmt: skip
