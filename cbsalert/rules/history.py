"""Kinds that compare a set's jobs with its own past (``UserSnapshot.history``): what they
share (``HistoryRule``), and ``no_change``, a set that "succeeds" while backing up nothing.
``cbsalert.rules.unusual`` holds the two that compare one job with the usual
(``change_spike``, ``duration``).

Their promises, on top of every kind's:

* Each set and destination is judged against its own history (``SetKey``), so a
  destination added later starts with a short history of its own.
* Only jobs whose status is in ``ok_statuses`` make a baseline: a failed job's counts and
  run time are not what "normal" looks like. Days with no such job (missed, not checked,
  failed, a weekly set's days off) are skipped, never taken for "changed nothing".
* A count, size or run time that is unknown is never taken for zero.
* A rule that cannot judge (fewer than ``min_history`` jobs or backup days to compare
  with, or the day's own numbers unknown) gives no finding at all, so it neither fires
  nor resolves an alert, and says why through ``assess`` (``check --format json``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from cbsalert.jobhistory import HistoryJob, SetKey
from cbsalert.labels import number, plural, set_label
from cbsalert.model import AlertEvent, Finding, JobResult, UserSnapshot
from cbsalert.notjudged import NotJudged, Reason
from cbsalert.rules.base import RuleBase
from cbsalert.rules.jobs import RUNNING_STATUSES, finished_by_set, sample_job

SUCCEEDED = ["BS_STOP_SUCCESS", "BS_STOP_SUCCESS_WITH_WARNING"]

Found = tuple[list[Finding], list[NotJudged]]


def changed_size(job: HistoryJob) -> int | None:
    """New + updated + deleted bytes, or None when any of them is unknown."""
    parts = (job.new_size, job.updated_size, job.deleted_size)
    return None if any(p is None for p in parts) else sum(p or 0 for p in parts)


class HistoryRule(RuleBase):
    """What the three kinds share: a baseline of succeeded jobs, ``min_history``, and
    silence (with a ``NotJudged``) where they cannot judge."""

    judges_jobs: ClassVar[bool] = True
    min_history: int = Field(default=7, ge=1)
    ok_statuses: list[str] = Field(default_factory=lambda: list(SUCCEEDED))
    running_statuses: list[str] = Field(default_factory=lambda: list(RUNNING_STATUSES))

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return self.assess(snap, now)[0]

    def today(self, snap: UserSnapshot) -> dict[SetKey, list[JobResult]]:
        return finished_by_set(snap, self, frozenset(self.running_statuses))

    def as_history(self, snap: UserSnapshot, result: JobResult) -> HistoryJob:
        """A finished job of the day in the form its history has, so both read alike: the
        row a check writes (``historyrows.job_row``), judged by this rule's ``ok_statuses``
        ("ok" or "failed": these kinds read nothing else)."""
        from cbsalert.historyrows import Verdicts, job_row  # it reads the rules' config

        return job_row(
            snap, result, Verdicts(frozenset(self.ok_statuses), frozenset(), frozenset())
        )

    def past(self, snap: UserSnapshot, key: SetKey) -> list[HistoryJob]:
        """The set's succeeded jobs within ``history_days`` before the day, oldest first
        (the store may load more days for another rule)."""
        since = snap.day - timedelta(days=self.history_days())
        jobs = [j for j in snap.history.get(key, ()) if since <= j.day < snap.day]
        return sorted((j for j in jobs if j.status in self.ok_statuses), key=lambda j: j.day)

    def skipped(
        self, snap: UserSnapshot, key: SetKey, reason: Reason, history: int, name: str | None
    ) -> NotJudged:
        return NotJudged(
            rule=self.id, kind=self.kind, login=snap.login, day=snap.day, backup_set_id=key[0],
            destination_id=key[1], reason=reason, history=history, needed=self.min_history,
            backup_set_name=name,
        )  # fmt: skip


# What a backup day was for a set, from its succeeded jobs that day.
DayState = Literal["changed", "unchanged", "unknown"]


def _day_state(jobs: list[HistoryJob]) -> DayState:
    """Changed when any job changed a file; unknown when a count of another cannot be
    read (it may have changed some); unchanged only when every count is a known zero."""
    counts = [j.changed_files for j in jobs]
    if any(c for c in counts):
        return "changed"
    return "unknown" if any(c is None for c in counts) else "unchanged"


class NoChangeRule(HistoryRule):
    """A set's jobs succeeded but changed no file on its last ``days`` backup days, while on
    most of its backup days in ``window`` days before, files changed: it backs up nothing
    (an unmounted drive, an emptied selection)."""

    kind: Literal["no_change"] = "no_change"
    what: ClassVar[str] = "changed nothing"
    hint: ClassVar[str] = (
        "Check that the set still backs up what it should: the drive or share it reads is "
        "mounted and reachable, and its selection (AhsayCBS: the set's Source) is not empty "
        "or pointing at a moved folder."
    )
    days: int = Field(default=3, ge=1)
    window: int = Field(default=30, ge=1)

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        since = (evening - timedelta(days=2)).date().isoformat()
        return [
            cls.sample(
                evening, "new", "critical",
                f"Backup of 'File server' succeeded but changed no files on its last 3 backup "
                f"days (since {since}); files changed on 24 of its 26 backup days before.",
                days=1, login="example-office", backup_set_name="File server",
                status="BS_STOP_SUCCESS", errors=0, warnings=0,
                end_time=evening + timedelta(minutes=4), **sample_job(evening),
            ),
        ]  # fmt: skip

    def history_days(self) -> int:
        return self.window

    def assess(self, snap: UserSnapshot, now: datetime) -> Found:
        findings: list[Finding] = []
        skipped: list[NotJudged] = []
        for key, results in self.today(snap).items():
            good = [r for r in results if r.report and r.report.status in self.ok_statuses]
            if not good:  # no backup day: backup_status speaks of failed jobs
                continue
            fields = [self.job_fields(snap, r) for r in good]
            jobs = [self.as_history(snap, r) for r in good]
            last, label = fields[-1], set_label(fields[-1], quote=True)
            state = _day_state(jobs)
            if state == "changed":
                total = sum(j.changed_files or 0 for j in jobs)
                summary = f"Backup of {label} changed {number(total)} files."
                findings.append(self.finding(snap, False, summary, **last))
                continue
            days = self._backup_days(snap, key)
            streak = [snap.day]
            for day, was in days:  # newest first
                if was != "unchanged":
                    break
                streak.append(day)
            before = [was for _, was in days[len(streak) - 1 :]]  # from the day it stopped
            baseline: list[DayState] = [was for was in before if was != "unknown"]
            stopped = before[0] if before else None
            name = last["backup_set_name"]
            if state == "unknown":
                skipped.append(self.skipped(snap, key, "unknown_counts", len(baseline), name))
            elif len(baseline) < self.min_history:
                reason: Reason = "not_enough_history"
                skipped.append(self.skipped(snap, key, reason, len(baseline), name))
            elif len(streak) < self.days and stopped == "unknown":
                skipped.append(self.skipped(snap, key, "unknown_counts", len(baseline), name))
            else:
                findings.append(self._judge(snap, label, last, streak, baseline))
        return findings, skipped

    def _backup_days(self, snap: UserSnapshot, key: SetKey) -> list[tuple[date, DayState]]:
        """The set's backup days before the day, newest first: days with a succeeded job."""
        by_day: dict[date, list[HistoryJob]] = {}
        for job in self.past(snap, key):
            by_day.setdefault(job.day, []).append(job)
        return [(day, _day_state(by_day[day])) for day in sorted(by_day, reverse=True)]

    def _judge(
        self,
        snap: UserSnapshot,
        label: str,
        fields: dict[str, Any],
        streak: list[date],
        baseline: list[DayState],
    ) -> Finding:
        changed = baseline.count("changed")
        before = f"files changed on {changed} of its {len(baseline)} backup days before"
        if len(streak) < self.days:
            run = plural(len(streak), "backup day")
            summary = f"Backup of {label} changed no files ({run} in a row; limit {self.days})."
            return self.finding(snap, False, summary, **fields)
        since = f"its last {len(streak)} backup days (since {streak[-1].isoformat()})"
        if 2 * changed <= len(baseline):
            summary = f"Backup of {label} changed no files on {since}, as usual: {before}."
            return self.finding(snap, False, summary, **fields)
        summary = f"Backup of {label} succeeded but changed no files on {since}; {before}."
        return self.finding(snap, True, summary, **fields)
