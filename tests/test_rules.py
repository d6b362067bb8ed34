"""Rule kinds as pure functions: snapshots in, findings out, no server involved."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from cbsalert.config import AnyRule
from cbsalert.model import Finding, JobResult, UserSnapshot
from cbsalert.records import BackupJob, JobProgress, JobReport, RestoreJob
from cbsalert.rules import RULE_KINDS, RuleBase, evaluate

DAY = date(2026, 11, 22)  # a Sunday
ZONE = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZONE)
SETS = {"100": "Documents", "200": "Exchange"}


def rule(**fields: Any) -> RuleBase:
    parsed: RuleBase = TypeAdapter(AnyRule).validate_python({"id": "r", **fields})
    return parsed


def job(
    set_id: str = "100",
    start: str = "2026-11-22 22:00:00",
    end: str | None = "2026-11-22 22:30:00",
    mode: str | None = "S",
    status: str = "BS_STOP_SUCCESS",
    errors: int = 0,
    warnings: int = 0,
    dest: str | None = None,
    progress: dict[str, Any] | None = None,
) -> JobResult:
    record = BackupJob.model_validate(
        {
            "StartTime": start,
            "EndTime": end if end is not None else "",
            "BackupSetID": set_id,
            "BackupSetName": SETS.get(set_id, ""),
            "BackupJobMode": mode,
            "LoginName": "obm",
        }
    )
    report = JobReport.model_validate(
        {
            "ID": record.id,
            "StartTime": start,
            "EndTime": end or "",
            "BackupJobStatus": status if end is not None else "",
            "NumOfErrorEntries": errors,
            "NumOfWarnEntries": warnings,
        }
    )
    prog = JobProgress.model_validate(progress) if progress is not None else None
    return JobResult(record, dest, report, prog)


def restore(
    set_id: str = "100", status: str = "RESTORE_STOP_SUCCESS", start: str = "2026-11-22 10:00:00"
) -> RestoreJob:
    return RestoreJob.model_validate(
        {"ID": start.replace(" ", "-").replace(":", "-"), "Status": status, "BackupSetID": set_id,
         "BackupSetName": SETS.get(set_id, ""), "StartTime": start, "EndTime": start}
    )  # fmt: skip


def snap(
    jobs: list[JobResult] | None = None,
    restores: list[RestoreJob] | None = None,
    expected: dict[str, str] | None = None,
    login: str = "obm",
    day: date = DAY,
) -> UserSnapshot:
    return UserSnapshot(
        login=login,
        owner="",
        day=day,
        expected_sets=dict(SETS) if expected is None else expected,
        sets_source="server",
        jobs=jobs or [],
        restores=restores or [],
        cbs_zone=ZONE,
        zone=ZONE,
    )


def firing(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.firing]


# -- backup_status ---------------------------------------------------------------------------


def test_backup_status_fires_on_failure_with_rule_severity() -> None:
    found = rule(kind="backup_status").evaluate(snap([job(status="BS_STOP_BY_SYSTEM_ERROR")]), NOW)
    assert [(f.firing, f.severity, f.status) for f in found] == [
        (True, "critical", "BS_STOP_BY_SYSTEM_ERROR")
    ]
    assert found[0].backup_set_name == "Documents"
    assert found[0].start_time == datetime(2026, 11, 22, 22, 0, tzinfo=ZONE)
    assert "Documents" in found[0].summary


def test_backup_status_is_clear_on_success() -> None:
    found = rule(kind="backup_status").evaluate(snap([job()]), NOW)
    assert [f.firing for f in found] == [False]


@pytest.mark.parametrize("status", ["BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_BY_USER"])
def test_backup_status_warning_statuses_fire_as_warnings(status: str) -> None:
    found = rule(kind="backup_status", severity="critical").evaluate(
        snap([job(status=status)]), NOW
    )
    assert [(f.firing, f.severity) for f in found] == [(True, "warning")]


@pytest.mark.parametrize("status", ["BS_NEVER_HEARD_OF_IT", "BS_STOP_MISSED_BACKUP", "success"])
def test_backup_status_unknown_values_are_failures_never_success(status: str) -> None:
    found = rule(kind="backup_status").evaluate(snap([job(status=status)]), NOW)
    assert [(f.firing, f.severity) for f in found] == [(True, "critical")]


def test_backup_status_leaves_jobs_in_progress_to_long_running() -> None:
    found = rule(kind="backup_status").evaluate(snap([job(end=None)]), NOW)
    assert found == []


def test_backup_status_last_finished_job_of_the_day_decides() -> None:
    jobs = [
        job(
            start="2026-11-22 01:00:00", end="2026-11-22 01:10:00", status="BS_STOP_BY_SYSTEM_ERROR"
        ),
        job(start="2026-11-22 13:00:00", end="2026-11-22 13:10:00"),
    ]
    assert [f.firing for f in rule(kind="backup_status").evaluate(snap(jobs), NOW)] == [False]
    assert [f.firing for f in rule(kind="backup_status").evaluate(snap(jobs[::-1][1:]), NOW)] == [
        True
    ]


def test_backup_status_judges_each_destination_separately() -> None:
    jobs = [job(dest="d1"), job(dest="d2", status="BS_STOP_BY_QUOTA_EXCEEDED")]
    found = rule(kind="backup_status").evaluate(snap(jobs), NOW)
    assert {(f.destination_id, f.firing) for f in found} == {("d1", False), ("d2", True)}
    assert len({f.key for f in found}) == 2


def test_ok_statuses_can_be_overridden_per_rule() -> None:
    r = rule(kind="backup_status", ok_statuses=["BS_STOP_SUCCESS", "BS_STOP_SUCCESS_WITH_WARNING"])
    assert firing(r.evaluate(snap([job(status="BS_STOP_SUCCESS_WITH_WARNING")]), NOW)) == []


# -- error_count / warning_count ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "errors", "warnings", "threshold", "fires"),
    [
        ("error_count", 1, 0, 0, True),
        ("error_count", 0, 9, 0, False),
        ("error_count", 5, 0, 5, False),
        ("error_count", 6, 0, 5, True),
        ("warning_count", 0, 3, 2, True),
        ("warning_count", 9, 2, 2, False),
    ],
)
def test_count_rules_fire_above_their_threshold(
    kind: str, errors: int, warnings: int, threshold: int, fires: bool
) -> None:
    r = rule(kind=kind, threshold=threshold, severity="warning")
    found = r.evaluate(snap([job(errors=errors, warnings=warnings)]), NOW)
    assert [f.firing for f in found] == [fires]
    if fires:
        assert found[0].severity == "warning"


# -- missing_backup ---------------------------------------------------------------------------


def test_missing_backup_fires_only_for_the_set_that_did_not_run() -> None:
    found = rule(kind="missing_backup").evaluate(snap([job(set_id="100")]), NOW)
    by_set = {f.backup_set_id: f.firing for f in found}
    assert by_set == {"100": False, "200": True, None: False}


def test_missing_schedule_fires_when_only_manual_job_ran() -> None:
    found = rule(kind="missing_backup", modes=["S"]).evaluate(
        snap([job(set_id="100", mode="M")], expected={"100": "Documents"}), NOW
    )
    assert [(f.backup_set_id, f.firing) for f in found] == [("100", True)]


def test_missing_backup_user_with_no_job_and_no_known_set_fires_for_the_user() -> None:
    found = rule(kind="missing_backup").evaluate(snap([], expected={}), NOW)
    assert [(f.backup_set_id, f.firing) for f in found] == [(None, True)]
    assert found[0].key == "r|obm||"


def test_missing_backup_respects_the_days_a_run_is_due() -> None:
    weekly = rule(kind="missing_backup", days=["mon"])
    assert weekly.evaluate(snap([]), NOW) == []  # DAY is a Sunday
    monday = snap([], day=date(2026, 11, 23))
    assert all(f.firing for f in weekly.evaluate(monday, NOW))


# -- restore_status ---------------------------------------------------------------------------


def test_restore_status_fires_on_failed_restore_and_clears_on_success() -> None:
    r = rule(kind="restore_status", severity="warning")
    bad = r.evaluate(snap(restores=[restore(status="RESTORE_STOP_BY_ERROR")]), NOW)
    assert [(f.firing, f.severity, f.backup_set_id) for f in bad] == [(True, "warning", "100")]
    good = r.evaluate(snap(restores=[restore()]), NOW)
    assert [f.firing for f in good] == [False]
    assert bad[0].key == good[0].key


def test_restore_status_later_success_of_the_same_set_wins() -> None:
    restores = [
        restore(status="RESTORE_STOP_BY_ERROR", start="2026-11-22 09:00:00"),
        restore(start="2026-11-22 09:30:00"),
    ]
    assert firing(rule(kind="restore_status").evaluate(snap(restores=restores), NOW)) == []


# -- long_running ----------------------------------------------------------------------------


def test_long_running_fires_after_max_hours_with_progress_in_summary() -> None:
    progress = {"CurrentFileCount": "12", "TotalFileCount": "70"}
    running = job(start="2026-11-22 12:00:00", end=None, progress=progress)
    found = rule(kind="long_running", max_hours=12).evaluate(snap([running]), NOW)
    assert [f.firing for f in found] == [True]
    assert "19.0 h" in found[0].summary and "12 of 70 files" in found[0].summary


def test_long_running_is_quiet_within_max_hours_and_clear_when_finished() -> None:
    r = rule(kind="long_running", max_hours=12)
    assert r.evaluate(snap([job(start="2026-11-22 23:00:00", end=None)]), NOW) == []
    assert [f.firing for f in r.evaluate(snap([job()]), NOW)] == [False]


# -- scoping --------------------------------------------------------------------------------


def test_applies_to_narrows_by_login_glob_and_set_name() -> None:
    failing = snap([job(status="X"), job(set_id="200", status="X")], login="acme-fs")
    assert (
        rule(kind="backup_status", applies_to={"logins": ["other*"]}).evaluate(failing, NOW) == []
    )
    by_name = rule(
        kind="backup_status", applies_to={"logins": ["acme-*"], "backup_sets": ["Exch*"]}
    )
    assert [f.backup_set_id for f in by_name.evaluate(failing, NOW)] == ["200"]
    by_id = rule(kind="backup_status", applies_to={"backup_sets": ["100"]})
    assert [f.backup_set_id for f in by_id.evaluate(failing, NOW)] == ["100"]


def test_evaluate_runs_every_rule_once() -> None:
    rules = [rule(kind="backup_status"), rule(kind="error_count", id="e")]
    found = evaluate(snap([job(status="X", errors=2)]), rules, NOW)
    assert sorted((f.rule, f.firing) for f in found) == [("e", True), ("r", True)]


def test_every_rule_kind_is_registered_and_documented_in_the_example() -> None:
    from pathlib import Path

    example = (Path(__file__).parent.parent / "rules.example.yaml").read_text()
    for kind in RULE_KINDS:
        assert f"kind: {kind}" in example
