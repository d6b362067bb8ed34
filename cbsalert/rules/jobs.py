"""Kinds that judge a day's backup jobs: their status, their error and warning counts, and
how long one has been running."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from cbsalert.cbswords import QUOTA_EXCEEDED, count_sentence, status_sentence
from cbsalert.jobhistory import SetKey
from cbsalert.labels import set_label
from cbsalert.model import AlertEvent, Finding, JobResult, UserSnapshot
from cbsalert.rules.base import RuleBase, StatusRule

RUNNING_STATUSES = ["", "BS_STILL_RUNNING"]

# A job stopped by a full quota needs room, not a rerun: every kind that judges jobs says so.
JOB_STATUS_HINTS: dict[str, str] = {
    QUOTA_EXCEEDED: (
        "The user's storage quota on the CBS is full, so the backup stopped: raise the "
        "user's quota in AhsayCBS (the backup user's profile) or have the user free space "
        "(delete old data or shorten retention), then rerun the backup."
    ),
}


def sample_job(evening: datetime) -> dict[str, Any]:
    """The ids, destination and start of a sample job that started at ``evening``."""
    return {
        "backup_set_id": "1700000000001", "destination_id": "-1700000000002",
        "destination_name": "Offsite S3", "job_id": evening.strftime("%Y-%m-%d-%H-%M-%S"),
        "start_time": evening,
    }  # fmt: skip


def finished_by_set(
    snap: UserSnapshot, rule: RuleBase, in_progress: frozenset[str]
) -> dict[SetKey, list[JobResult]]:
    """Per (set, destination), in key order, the jobs of the day the rule applies to that
    have finished, oldest first."""
    groups: dict[SetKey, list[JobResult]] = defaultdict(list)
    for result in snap.jobs:
        report = result.report
        # A job with an end time is finished whatever its status says; an empty status
        # there is an unknown status, which must never pass for success.
        if report is None or (report.status in in_progress and result.job.running):
            continue
        if not rule.applies(snap.login, result.job.backup_set_id, result.job.backup_set_name):
            continue
        groups[(result.job.backup_set_id, result.destination_id)].append(result)
    return {
        key: sorted(group, key=_start_key) for key, group in sorted(groups.items(), key=_group_key)
    }


def _latest_finished(
    snap: UserSnapshot, rule: RuleBase, in_progress: frozenset[str]
) -> list[JobResult]:
    """Per (set, destination), the last job that has finished: it decides the day."""
    return [group[-1] for group in finished_by_set(snap, rule, in_progress).values()]


def _group_key(item: tuple[SetKey, list[JobResult]]) -> tuple[str, str]:
    return item[0][0], item[0][1] or ""


def _start_key(result: JobResult) -> tuple[datetime, str]:
    return result.job.sort_key()


class BackupStatusRule(StatusRule):
    """The last finished job of a set (per destination) has a status not in ``ok_statuses``."""

    kind: Literal["backup_status"] = "backup_status"
    judges_jobs: ClassVar[bool] = True
    what: ClassVar[str] = "failed"
    hint: ClassVar[str] = (
        "Open the backup report in AhsayCBS (Monitoring > Backup / Restore Logs), "
        "fix the cause and rerun the job."
    )
    ok_statuses: list[str] = Field(default_factory=lambda: ["BS_STOP_SUCCESS"])
    warning_statuses: list[str] = Field(
        default_factory=lambda: ["BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_BY_USER"]
    )
    running_statuses: list[str] = Field(default_factory=lambda: list(RUNNING_STATUSES))
    status_hints: ClassVar[dict[str, str]] = JOB_STATUS_HINTS

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        job = sample_job(evening)
        failed = "BS_STOP_BY_SYSTEM_ERROR"
        return [
            cls.sample(
                evening, "new", "critical",
                status_sentence("Backup of", "'Documents (daily)'", failed, "failed"),
                days=1, owner="Example Owner", backup_set_name="Documents (daily)",
                status=failed, errors=12, warnings=3,
                end_time=evening + timedelta(minutes=85), **job,
            ),
            cls.sample(
                evening, "resolved", "critical", "Backup of 'Finance' succeeded.", days=3,
                login="example-office", backup_set_name="Finance", status="BS_STOP_SUCCESS",
                errors=0, warnings=0, end_time=evening + timedelta(minutes=40), **job,
            ),
        ]  # fmt: skip

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return [
            self.status_finding(snap, "Backup of", self.job_fields(snap, result))
            for result in _latest_finished(snap, self, frozenset(self.running_statuses))
        ]


class _CountRule(RuleBase):
    """A count of the last finished job above ``threshold``; a count that cannot be read
    fires too (fail closed: it may be any number)."""

    judges_jobs: ClassVar[bool] = True
    status_hints: ClassVar[dict[str, str]] = JOB_STATUS_HINTS
    threshold: int = Field(default=0, ge=0)
    running_statuses: list[str] = Field(default_factory=lambda: list(RUNNING_STATUSES))
    field_name: ClassVar[str]
    noun: ClassVar[str]
    cbs_key: ClassVar[str]

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        out = []
        for result in _latest_finished(snap, self, frozenset(self.running_statuses)):
            fields = self.job_fields(snap, result)
            count = fields[self.field_name]
            label = set_label(fields, quote=True)
            if not isinstance(count, int):
                summary = (
                    f"Backup of {label}: its {self.noun} count cannot be read ({self.cbs_key}"
                    f" missing or not a count), so it may have logged {self.noun}s."
                )
                out.append(self.finding(snap, True, summary, **fields))
                continue
            summary = count_sentence(label, self.noun, count, self.threshold)
            out.append(self.finding(snap, count > self.threshold, summary, **fields))
        return out


class ErrorCountRule(_CountRule):
    """NumOfErrorEntries of the last finished job is above ``threshold``."""

    kind: Literal["error_count"] = "error_count"
    what: ClassVar[str] = "with errors"
    hint: ClassVar[str] = (
        "Read the errors in the job's backup report in AhsayCBS (Monitoring > Backup / "
        "Restore Logs): the files they name were not backed up."
    )
    field_name: ClassVar[str] = "errors"
    noun: ClassVar[str] = "error"
    cbs_key: ClassVar[str] = "NumOfErrorEntries"

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        return [
            cls.sample(
                evening, "escalated", "warning",
                count_sentence("'Projects'", "error", 4, 0), previous="info", days=2,
                login="example-office", backup_set_name="Projects", status="BS_STOP_SUCCESS",
                errors=4, warnings=0, end_time=evening + timedelta(hours=3), **sample_job(evening),
            ),
        ]  # fmt: skip


class WarningCountRule(_CountRule):
    """NumOfWarnEntries of the last finished job is above ``threshold``."""

    kind: Literal["warning_count"] = "warning_count"
    what: ClassVar[str] = "with warnings"
    hint: ClassVar[str] = (
        "Check the warnings in the job's backup report; they often name files that were "
        "locked or skipped."
    )
    field_name: ClassVar[str] = "warnings"
    noun: ClassVar[str] = "warning"
    cbs_key: ClassVar[str] = "NumOfWarnEntries"

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        return [
            cls.sample(
                evening, "repeat", "info",
                count_sentence("'Photos'", "warning", 2, 0), days=2,
                login="example-office", backup_set_name="Photos",
                status="BS_STOP_SUCCESS_WITH_WARNING", errors=0, warnings=2,
                end_time=evening + timedelta(minutes=20), **sample_job(evening),
            ),
        ]  # fmt: skip


class LongRunningRule(RuleBase):
    """A job of the day is still running ``max_hours`` after it started (GetBackupJobProgress)."""

    kind: Literal["long_running"] = "long_running"
    judges_jobs: ClassVar[bool] = True
    what: ClassVar[str] = "running too long"
    hint: ClassVar[str] = (
        "Check whether the job is stuck (AhsayCBS Monitoring > Live Activities); stop and "
        "rerun it if it makes no progress."
    )
    max_hours: float = Field(gt=0)
    running_statuses: list[str] = Field(default_factory=lambda: list(RUNNING_STATUSES))

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        return [
            cls.sample(
                evening, "new", "warning",
                "Backup of 'VM images' still running after 9.5 h (limit 8 h), 1200 of 5000 files"
                " done.",
                login="example-server", backup_set_name="VM images", status="",
                **sample_job(evening),
            ),
        ]  # fmt: skip

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        out = []
        seen: set[tuple[str, str | None]] = set()
        for result in sorted(snap.jobs, key=_start_key, reverse=True):
            key = (result.job.backup_set_id, result.destination_id)
            if key in seen:
                continue
            if not self.applies(snap.login, result.job.backup_set_id, result.job.backup_set_name):
                continue
            fields = self.job_fields(snap, result)
            report = result.report
            running = result.job.running and (
                report is None or report.status in self.running_statuses
            )
            start = fields["start_time"]
            if not running:
                seen.add(key)
                label = set_label(fields, quote=True)
                out.append(self.finding(snap, False, f"Backup of {label} finished.", **fields))
                continue
            if start is None:
                continue
            hours = (now - start).total_seconds() / 3600
            if hours <= self.max_hours:
                continue
            seen.add(key)
            progress = result.progress
            detail = ""
            if progress is not None and progress.total_file_count:
                done = progress.current_file_count
                total = progress.total_file_count
                detail = f", {'?' if done is None else done} of {total} files done"
            summary = (
                f"Backup of {set_label(fields, quote=True)} still running after {hours:.1f} h"
                f" (limit {self.max_hours:g} h){detail}."
            )
            out.append(self.finding(snap, True, summary, **fields))
        return out
