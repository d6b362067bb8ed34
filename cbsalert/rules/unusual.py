"""Kinds that judge a job against the median of its set's last jobs: ``change_spike`` (a
job changed far more files or bytes than usual: ransomware rewriting a share, a mass
deletion, a selection that grew) and ``duration`` (a job took far longer than usual).

They keep the promises of ``cbsalert.rules.history``; on a day with several finished jobs
of a set and destination, the most unusual one fires, else the last one is clear.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field

from cbsalert.jobhistory import HistoryJob, SetKey
from cbsalert.labels import data_size, number, run_time, set_label
from cbsalert.model import AlertEvent, Finding, Severity, UserSnapshot
from cbsalert.notjudged import NotJudged, Reason
from cbsalert.rules.history import Found, HistoryRule, changed_size
from cbsalert.rules.jobs import sample_job

MB = 1024 * 1024


class _JobWindowRule(HistoryRule):
    """A job of the day against the median of the set's last ``window`` succeeded jobs:
    it fires on the most unusual job of the day, else is clear about the last one."""

    window: int = Field(default=14, ge=1)
    lookback_days: int | None = Field(default=None, ge=1)
    ratio: float = Field(gt=1)
    unknown: ClassVar[Reason]

    def history_days(self) -> int:
        """``lookback_days``, by default twice ``window`` (a daily set's last ``window``
        jobs with room for missed days; a weekly set needs a longer ``lookback_days``)."""
        return self.lookback_days or 2 * self.window

    def value(self, job: HistoryJob) -> float | None:
        raise NotImplementedError

    def fires(self, value: float, usual: float) -> bool:
        raise NotImplementedError

    def summary(self, label: str, job: HistoryJob, usual: float, jobs: int, fired: bool) -> str:
        raise NotImplementedError

    def _baseline(self, snap: UserSnapshot, key: SetKey) -> list[float]:
        """The known values of the set's last ``window`` succeeded jobs, newest first."""
        base: list[float] = []
        for job in reversed(self.past(snap, key)):
            if (value := self.value(job)) is not None:
                base.append(value)
                if len(base) == self.window:
                    break
        return base

    def assess(self, snap: UserSnapshot, now: datetime) -> Found:
        findings: list[Finding] = []
        skipped: list[NotJudged] = []
        for key, results in self.today(snap).items():
            fields = [self.job_fields(snap, r) for r in results]
            jobs = [self.as_history(snap, r) for r in results]
            values = [self.value(j) for j in jobs]
            base = self._baseline(snap, key)
            name = fields[-1]["backup_set_name"]
            if len(base) < self.min_history:
                skipped.append(self.skipped(snap, key, "not_enough_history", len(base), name))
                continue
            usual = statistics.median(base)
            fired = [i for i, v in enumerate(values) if v is not None and self.fires(v, usual)]
            if fired:
                i = max(fired, key=lambda n: values[n] or 0)
            elif any(v is None for v in values):  # the unknown one may be the unusual one
                skipped.append(self.skipped(snap, key, self.unknown, len(base), name))
                continue
            else:
                i = len(jobs) - 1
            label = set_label(fields[i], quote=True)
            summary = self.summary(label, jobs[i], usual, len(base), bool(fired))
            findings.append(self.finding(snap, bool(fired), summary, **fields[i]))
        return findings, skipped


class ChangeSpikeRule(_JobWindowRule):
    """A job changed (new + updated + deleted files, or their bytes) more than ``ratio``
    times the median of the set's last ``window`` jobs, and at least the floor."""

    kind: Literal["change_spike"] = "change_spike"
    what: ClassVar[str] = "changed unusually"
    severity: Severity = "warning"
    hint: ClassVar[str] = (
        "Find out what changed so many files: open the backup report in AhsayCBS and look "
        "at the files it lists. Mass changes can be ransomware encrypting files, a mass "
        "deletion, or a selection that grew; if it was ransomware, do not let the next "
        "backups overwrite the good versions (check the set's retention policy)."
    )
    unknown: ClassVar[Reason] = "unknown_counts"
    ratio: float = Field(default=10, gt=1)
    measure: Literal["files", "size"] = "files"
    min_files: int = Field(default=1000, ge=0)
    min_size_mb: float = Field(default=1024, ge=0)

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        job = {**sample_job(evening), "status": "BS_STOP_SUCCESS", "errors": 0, "warnings": 0}
        return [
            cls.sample(
                evening, "new", "warning",
                "Backup of 'Shared drive' changed 12,400 files (12,100 updated, 200 new, "
                "100 deleted); usually ~300 (median of the last 14 jobs).",
                days=1, login="example-office", backup_set_name="Shared drive",
                end_time=evening + timedelta(hours=2), **job,
            ),
            cls.sample(
                evening, "resolved", "warning",
                "Backup of 'Home folders' changed 310 files; usually ~300.",
                login="example-office", backup_set_name="Home folders",
                end_time=evening + timedelta(minutes=20),
                **{**job, "backup_set_id": "1700000000009"},
            ),
        ]  # fmt: skip

    def value(self, job: HistoryJob) -> float | None:
        return job.changed_files if self.measure == "files" else changed_size(job)

    def fires(self, value: float, usual: float) -> bool:
        floor = self.min_files if self.measure == "files" else self.min_size_mb * MB
        return value > self.ratio * usual and value >= floor

    def summary(self, label: str, job: HistoryJob, usual: float, jobs: int, fired: bool) -> str:
        say: Callable[[float], str] = number if self.measure == "files" else data_size
        value = self.value(job) or 0
        amount = f"{number(value)} files" if self.measure == "files" else data_size(value)
        if not fired:
            return f"Backup of {label} changed {amount}; usually ~{say(usual)}."
        counts = (
            (job.updated_files, job.updated_size, "updated"),
            (job.new_files, job.new_size, "new"),
            (job.deleted_files, job.deleted_size, "deleted"),
        )
        parts = sorted(
            ((files if self.measure == "files" else size) or 0, word)
            for files, size, word in counts
        )
        detail = ", ".join(f"{say(n)} {word}" for n, word in reversed(parts) if n)
        return (
            f"Backup of {label} changed {amount} ({detail}); usually ~{say(usual)} (median "
            f"of the last {jobs} jobs)."
        )


class DurationRule(_JobWindowRule):
    """A job took more than ``ratio`` times the median run time of the set's last
    ``window`` jobs, and at least ``min_minutes`` longer."""

    kind: Literal["duration"] = "duration"
    what: ClassVar[str] = "slower than usual"
    severity: Severity = "warning"
    hint: ClassVar[str] = (
        "Compare the job's backup report with a usual one in AhsayCBS: more data, a slow "
        "link or a busy destination makes a job slow; a job that runs into working hours "
        "or the next job's start needs its schedule moved."
    )
    unknown: ClassVar[Reason] = "unknown_duration"
    ratio: float = Field(default=3, gt=1)
    min_minutes: float = Field(default=30, ge=0)

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        return [
            cls.sample(
                evening, "new", "warning",
                "Backup of 'SQL server' took 5 h 10 min; usually ~1 h 30 min (median of the "
                "last 14 jobs).",
                days=1, login="example-server", backup_set_name="SQL server",
                status="BS_STOP_SUCCESS", errors=0, warnings=0,
                end_time=evening + timedelta(hours=5, minutes=10), **sample_job(evening),
            ),
        ]  # fmt: skip

    def value(self, job: HistoryJob) -> float | None:
        seconds = job.duration_s
        return None if seconds is None or seconds < 0 else seconds

    def fires(self, value: float, usual: float) -> bool:
        return value > self.ratio * usual and value - usual >= self.min_minutes * 60

    def summary(self, label: str, job: HistoryJob, usual: float, jobs: int, fired: bool) -> str:
        took = run_time(self.value(job) or 0)
        took = f"Backup of {label} took {took}; usually ~{run_time(usual)}"
        return f"{took} (median of the last {jobs} jobs)." if fired else f"{took}."
