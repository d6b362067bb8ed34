"""Rule kinds: each a pydantic model (its config) with a pure ``evaluate``.

``evaluate(snapshot, now)`` takes what was fetched about one user for one day and returns
``Finding``s: one per alert identity the day says something about, firing or clear. An
identity the day says nothing about gets no finding, so the state leaves it alone (a day
without evidence never resolves anything).

Adding a kind: one class here, one row in ``RULE_KINDS``, one example in
``rules.example.yaml``, one row in ``tests/test_rules.py``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cbsalert.model import UNKNOWN, Count, Finding, JobResult, Severity, UserSnapshot

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``3d``, ``2w`` (or a bare number of seconds)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
    if not match:
        raise ValueError(f"invalid duration {value!r}: use e.g. 30m, 24h, 3d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{unit[match.group(2)]: float(match.group(1))})


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class AppliesTo(BaseModel):
    """Narrows a rule: logins and backup sets (by id or name), shell-style globs allowed."""

    model_config = ConfigDict(extra="forbid")
    logins: list[str] = Field(default_factory=list)
    backup_sets: list[str] = Field(default_factory=list)


def _matches(patterns: list[str], *values: str | None) -> bool:
    return any(fnmatchcase(v, p) for p in patterns for v in values if v)


class RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    id: str = Field(min_length=1)
    severity: Severity = "critical"
    notify: list[str] = Field(default_factory=list)
    applies_to: AppliesTo | None = None
    repeat_interval: Duration | None = None
    send_resolved: bool = True
    description: str | None = None

    # A live rule's evidence is the run itself, not a day: a later run of the same day may
    # resolve it (the built-in "cannot reach the CBS" alert).
    live: ClassVar[bool] = False
    # A rule that judges backup jobs (their status, counts or run time): a job still running
    # at a check is judged by these rules again at a later check (``cbsalert.carryover``).
    judges_jobs: ClassVar[bool] = False

    def applies(self, login: str, set_id: str | None = None, set_name: str | None = None) -> bool:
        scope = self.applies_to
        if scope is None:
            return True
        if scope.logins and not _matches(scope.logins, login):
            return False
        if scope.backup_sets and set_id is None:
            return False
        return not scope.backup_sets or _matches(scope.backup_sets, set_id, set_name)

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        raise NotImplementedError

    def finding(self, snap: UserSnapshot, firing: bool, summary: str, **fields: Any) -> Finding:
        fields.setdefault("severity", self.severity)
        return Finding(
            rule=self.id,
            kind=self.kind,
            firing=firing,
            login=snap.login,
            owner=snap.owner,
            day=snap.day,
            summary=summary,
            **fields,
        )

    def job_fields(self, snap: UserSnapshot, result: JobResult) -> dict[str, Any]:
        report = result.report
        return {
            "backup_set_id": result.job.backup_set_id,
            "backup_set_name": result.job.backup_set_name
            or snap.expected_sets.get(result.job.backup_set_id),
            "destination_id": result.destination_id,
            "job_id": result.job.id,
            "status": report.status if report else None,
            "start_time": snap.aware((report and report.start_time) or result.job.start_time),
            "end_time": snap.aware((report and report.end_time) or result.job.end_time),
            "errors": _count(report.errors) if report else None,
            "warnings": _count(report.warnings) if report else None,
        }


def _count(value: int | None) -> Count:
    """A report's count; one the records could not read is unknown, never zero."""
    return UNKNOWN if value is None else value


def _latest_finished(
    snap: UserSnapshot, rule: RuleBase, in_progress: frozenset[str]
) -> list[JobResult]:
    """Per (set, destination), the last job that has finished: it decides the day."""
    groups: dict[tuple[str, str | None], list[JobResult]] = defaultdict(list)
    for result in snap.jobs:
        report = result.report
        # A job with an end time is finished whatever its status says; an empty status
        # there is an unknown status, which must never pass for success.
        if report is None or (report.status in in_progress and result.job.running):
            continue
        if not rule.applies(snap.login, result.job.backup_set_id, result.job.backup_set_name):
            continue
        groups[(result.job.backup_set_id, result.destination_id)].append(result)
    return [max(group, key=_start_key) for _, group in sorted(groups.items(), key=_group_key)]


def _group_key(item: tuple[tuple[str, str | None], list[JobResult]]) -> tuple[str, str]:
    return item[0][0], item[0][1] or ""


def _start_key(result: JobResult) -> tuple[datetime, str]:
    return result.job.sort_key()


def _set_label(fields: dict[str, Any]) -> str:
    name = fields.get("backup_set_name")
    return f"'{name}'" if name else f"set {fields.get('backup_set_id')}"


RUNNING_STATUSES = ["", "BS_STILL_RUNNING"]


class BackupStatusRule(RuleBase):
    """The last finished job of a set (per destination) has a status not in ``ok_statuses``."""

    kind: Literal["backup_status"] = "backup_status"
    judges_jobs: ClassVar[bool] = True
    ok_statuses: list[str] = Field(default_factory=lambda: ["BS_STOP_SUCCESS"])
    warning_statuses: list[str] = Field(
        default_factory=lambda: ["BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_BY_USER"]
    )
    running_statuses: list[str] = Field(default_factory=lambda: list(RUNNING_STATUSES))

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        out = []
        for result in _latest_finished(snap, self, frozenset(self.running_statuses)):
            fields = self.job_fields(snap, result)
            status = fields["status"]
            label = _set_label(fields)
            if status in self.ok_statuses:
                out.append(self.finding(snap, False, f"Backup of {label} succeeded.", **fields))
                continue
            severity: Severity = "warning" if status in self.warning_statuses else self.severity
            what = "ended with" if status in self.warning_statuses else "failed with"
            summary = f"Backup of {label} {what} {status or 'an empty status'}."
            out.append(self.finding(snap, True, summary, **{**fields, "severity": severity}))
        return out


class _CountRule(RuleBase):
    """A count of the last finished job above ``threshold``; a count that cannot be read
    fires too (fail closed: it may be any number)."""

    judges_jobs: ClassVar[bool] = True
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
            label = _set_label(fields)
            if not isinstance(count, int):
                summary = (
                    f"Backup of {label}: its {self.noun} count cannot be read ({self.cbs_key}"
                    f" missing or not a count), so it may have logged {self.noun}s."
                )
                out.append(self.finding(snap, True, summary, **fields))
                continue
            firing = count > self.threshold
            summary = (
                f"Backup of {label} logged {count} {self.noun}{'s' if count != 1 else ''}"
                f" (more than {self.threshold})."
                if firing
                else f"Backup of {label} logged {count} {self.noun}s."
            )
            out.append(self.finding(snap, firing, summary, **fields))
        return out


class ErrorCountRule(_CountRule):
    """NumOfErrorEntries of the last finished job is above ``threshold``."""

    kind: Literal["error_count"] = "error_count"
    field_name: ClassVar[str] = "errors"
    noun: ClassVar[str] = "error"
    cbs_key: ClassVar[str] = "NumOfErrorEntries"


class WarningCountRule(_CountRule):
    """NumOfWarnEntries of the last finished job is above ``threshold``."""

    kind: Literal["warning_count"] = "warning_count"
    field_name: ClassVar[str] = "warnings"
    noun: ClassVar[str] = "warning"
    cbs_key: ClassVar[str] = "NumOfWarnEntries"


class MissingBackupRule(RuleBase):
    """An expected set had no job of a wanted mode on a day a run was due.

    Expected sets come from the watch entry, ListBackupSets or the state's history; when
    none is known, a user with no wanted job at all fires as a whole.
    """

    kind: Literal["missing_backup"] = "missing_backup"
    modes: list[str] = Field(default_factory=lambda: ["S"], min_length=1)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        if WEEKDAYS[snap.day.weekday()] not in self.days:
            return []
        wanted = [r for r in snap.jobs if (r.job.mode or "") in self.modes]
        ran = {r.job.backup_set_id for r in wanted}
        modes = "/".join(self.modes)
        out = []
        for set_id, name in sorted(snap.expected_sets.items()):
            if not self.applies(snap.login, set_id, name):
                continue
            label = f"'{name}'" if name else f"set {set_id}"
            firing = set_id not in ran
            summary = (
                f"No {modes} backup of {label} ran on {snap.day.isoformat()}."
                if firing
                else f"A {modes} backup of {label} ran on {snap.day.isoformat()}."
            )
            out.append(
                self.finding(snap, firing, summary, backup_set_id=set_id, backup_set_name=name)
            )
        if self.applies(snap.login) and (wanted or not snap.expected_sets):
            firing = not wanted
            summary = (
                f"No {modes} backup job at all for {snap.login} on {snap.day.isoformat()}."
                if firing
                else f"{snap.login} ran {len({r.job.id for r in wanted})} {modes} job(s)."
            )
            out.append(self.finding(snap, firing, summary))
        return out


class RestoreStatusRule(RuleBase):
    """The last restore of a set on the day did not end in ``ok_statuses``.

    A failed restore is an event: it resolves with a later good restore of that set, or
    quietly after ``auto_resolve`` with no new failure.
    """

    kind: Literal["restore_status"] = "restore_status"
    ok_statuses: list[str] = Field(default_factory=lambda: ["RESTORE_STOP_SUCCESS"])
    warning_statuses: list[str] = Field(
        default_factory=lambda: ["RESTORE_STOP_SUCCESS_WITH_WARNING"]
    )
    running_statuses: list[str] = Field(default_factory=lambda: ["", "RESTORE_STILL_RUNNING"])
    auto_resolve: Duration = timedelta(days=7)

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        latest: dict[str, Any] = {}
        for restore in snap.restores:
            if restore.status in self.running_statuses:
                continue
            if not self.applies(snap.login, restore.backup_set_id, restore.backup_set_name):
                continue
            key = (restore.start_time or datetime.min, restore.id)
            current = latest.get(restore.backup_set_id)
            if current is None or key > (current.start_time or datetime.min, current.id):
                latest[restore.backup_set_id] = restore
        out = []
        for set_id, restore in sorted(latest.items()):
            fields = {
                "backup_set_id": set_id,
                "backup_set_name": restore.backup_set_name or snap.expected_sets.get(set_id),
                "job_id": restore.id,
                "status": restore.status,
                "start_time": snap.aware(restore.start_time),
                "end_time": snap.aware(restore.end_time),
            }
            label = _set_label(fields)
            if restore.status in self.ok_statuses:
                out.append(self.finding(snap, False, f"Restore from {label} succeeded.", **fields))
                continue
            warning = restore.status in self.warning_statuses
            severity: Severity = "warning" if warning else self.severity
            what = "ended with" if warning else "failed with"
            summary = f"Restore from {label} {what} {restore.status}."
            out.append(self.finding(snap, True, summary, **{**fields, "severity": severity}))
        return out


class LongRunningRule(RuleBase):
    """A job of the day is still running ``max_hours`` after it started (GetBackupJobProgress)."""

    kind: Literal["long_running"] = "long_running"
    judges_jobs: ClassVar[bool] = True
    max_hours: float = Field(gt=0)
    running_statuses: list[str] = Field(default_factory=lambda: list(RUNNING_STATUSES))

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
                label = _set_label(fields)
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
                detail = f" ({'?' if done is None else done} of {progress.total_file_count} files)"
            summary = (
                f"Backup of {_set_label(fields)} still running after {hours:.1f} h"
                f" (limit {self.max_hours:g} h){detail}."
            )
            out.append(self.finding(snap, True, summary, **fields))
        return out


RULE_KINDS: dict[str, type[RuleBase]] = {
    "backup_status": BackupStatusRule,
    "error_count": ErrorCountRule,
    "warning_count": WarningCountRule,
    "missing_backup": MissingBackupRule,
    "restore_status": RestoreStatusRule,
    "long_running": LongRunningRule,
}


def evaluate(snap: UserSnapshot, rules: list[RuleBase], now: datetime) -> list[Finding]:
    """Every rule's findings about one user's day."""
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule.evaluate(snap, now))
    return findings
