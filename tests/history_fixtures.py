"""Days of a set's life as plain data, for the kinds that compare a job with its history:
today's jobs as the CBS reports them (``today``), earlier ones as the state store gives
them back (``past``), and the snapshot that carries both (``snapshot``). No server, no
database: the history kinds are pure functions of this data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from cbsalert.jobhistory import HistoryJob, Outcome, SetKey
from cbsalert.model import JobResult, UserSnapshot
from cbsalert.notjudged import NotJudged
from cbsalert.records import BackupJob, JobReport, RestoreJob
from cbsalert.rules import RuleBase, assess
from tests.test_rules import NOW, SETS, ZONE, rule

DAY = date(2026, 11, 22)  # a Sunday: the day checked
OK = "BS_STOP_SUCCESS"


def today(
    new: int | str | None = 10,
    updated: int | str | None = 0,
    deleted: int | str | None = 0,
    *,
    minutes: float = 30,
    start: str = "22:00",
    status: str = OK,
    set_id: str = "100",
    dest: str | None = None,
    sizes: tuple[int, int, int] | None = None,
    end: str | None = None,
) -> JobResult:
    """A finished job of ``DAY``, its report as GetBackupJobReportSummary sends it (a count
    given as None is left out; a string is sent as it is, e.g. "NaN")."""
    begin = datetime.combine(DAY, datetime.strptime(start, "%H:%M").time())
    stop = end if end is not None else f"{begin + timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S}"
    record = BackupJob.model_validate(
        {"StartTime": f"{begin:%Y-%m-%d %H:%M:%S}", "EndTime": stop, "BackupSetID": set_id,
         "BackupSetName": SETS.get(set_id, ""), "BackupJobMode": "S", "LoginName": "obm"}
    )  # fmt: skip
    data: dict[str, Any] = {
        "ID": record.id, "StartTime": f"{begin:%Y-%m-%d %H:%M:%S}", "EndTime": stop,
        "BackupJobStatus": status, "NumOfErrorEntries": 0, "NumOfWarnEntries": 0,
        "NumOfNewFiles": new, "NumOfUpdatedFiles": updated, "NumOfDeletedFiles": deleted,
    }  # fmt: skip
    if sizes is not None:
        data |= dict(zip(("TotalNewFilesSize", "TotalUpdatedFilesSize", "TotalDeletedFilesSize"),
                         sizes, strict=True))  # fmt: skip
    report = JobReport.model_validate({k: v for k, v in data.items() if v is not None})
    return JobResult(record, dest, report)


def past(
    days_ago: int,
    new: int | None = 10,
    updated: int | None = 0,
    deleted: int | None = 0,
    *,
    minutes: float = 30,
    status: str | None = OK,
    outcome: Outcome = "ok",
    set_id: str = "100",
    dest: str | None = None,
    sizes: tuple[int | None, int | None, int | None] = (None, None, None),
) -> HistoryJob:
    """The set's job of ``days_ago`` days before ``DAY``, as history holds it."""
    day = DAY - timedelta(days=days_ago)
    start = datetime.combine(day, datetime.min.time()).replace(hour=22)
    return HistoryJob(
        login="obm", backup_set_id=set_id, destination_id=dest, day=day, outcome=outcome,
        job_id=f"{start:%Y-%m-%d-%H-%M-%S}", mode="S", status=status, start_time=start,
        end_time=start + timedelta(minutes=minutes), errors=0, warnings=0,
        new_files=new, updated_files=updated, deleted_files=deleted,
        new_size=sizes[0], updated_size=sizes[1], deleted_size=sizes[2],
    )  # fmt: skip


def not_run(days_ago: int, outcome: Outcome = "missed", set_id: str = "100") -> HistoryJob:
    """A day the set had no job (``missed``), or its user could not be checked."""
    day = DAY - timedelta(days=days_ago)
    return HistoryJob(login="obm", backup_set_id=set_id, destination_id=None, day=day,
                      outcome=outcome)  # fmt: skip


def snapshot(
    jobs: list[JobResult], history: list[HistoryJob], restores: list[RestoreJob] | None = None
) -> UserSnapshot:
    """``DAY`` of user obm, its history grouped per set and destination, oldest first."""
    grouped: dict[SetKey, list[HistoryJob]] = defaultdict(list)
    for job in sorted(history, key=lambda j: j.day):
        grouped[(job.backup_set_id, job.destination_id)].append(job)
    return UserSnapshot(
        login="obm", owner="", day=DAY, expected_sets=dict(SETS), sets_source="server",
        jobs=jobs, restores=restores or [], cbs_zone=ZONE, zone=ZONE, history=dict(grouped),
    )  # fmt: skip


def judge(
    kind: str, jobs: list[JobResult], history: list[HistoryJob], **config: Any
) -> tuple[list[tuple[bool, str, str | None]], list[NotJudged]]:
    """What a rule of ``kind`` says: (firing, summary, destination) per finding, and what
    it could not judge."""
    made: RuleBase = rule(kind=kind, **config)
    found, skipped = assess(snapshot(jobs, history), [made], NOW)
    assert made.evaluate(snapshot(jobs, history), NOW) == found
    return [(f.firing, f.summary, f.destination_id) for f in found], skipped


def daily(
    count: int, new: int | None = 10, *, days_from: int = 1, **fields: Any
) -> list[HistoryJob]:
    """One job a day on ``count`` days, the newest ``days_from`` days before ``DAY``."""
    return [past(n, new, **fields) for n in range(days_from, days_from + count)]
