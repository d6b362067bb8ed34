"""What every rule kind shares: its config fields, its scope, and the finding it builds.

A kind is a pydantic model (its config) with a pure ``evaluate(snapshot, now)``: it takes
what was fetched about one user for one day and returns ``Finding``s, one per alert
identity the day says something about, firing or clear. An identity the day says nothing
about gets no finding, so the state leaves it alone (a day without evidence never
resolves anything).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cbsalert.cbswords import status_sentence
from cbsalert.labels import set_label
from cbsalert.model import (
    UNKNOWN,
    AlertEvent,
    AlertState,
    Count,
    Finding,
    JobResult,
    Severity,
    UserSnapshot,
)
from cbsalert.notjudged import NotJudged
from cbsalert.scope import names_any


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


def format_duration(value: timedelta) -> str:
    """``value`` as ``parse_duration`` reads it, in the largest unit that divides it:
    ``3d``, ``36h``, ``15m`` (for a message that tells what to write)."""
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class AppliesTo(BaseModel):
    """Narrows a rule: logins and backup sets (by id or name), as ``cbsalert.scope`` reads
    a pattern (exact text, or a shell-style glob)."""

    model_config = ConfigDict(extra="forbid")
    logins: list[str] = Field(default_factory=list)
    backup_sets: list[str] = Field(default_factory=list)


class RuleBase(BaseModel):
    """A rule's config, and what its kind does: ``evaluate`` (what a user's day says),
    ``assess`` (that, and what it could not judge), ``history_days`` (how much history it
    reads), ``auto_resolution`` (whether a firing alert resolves by itself), ``hint`` (what
    to do about an alert), ``samples`` (alerts to show templates with); ``live`` and
    ``judges_jobs`` say what its evidence is."""

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
    # What to do about a firing alert of the kind, told in every message (the templates'
    # ``hint`` filter and ``hints`` global). Every kind says it.
    hint: ClassVar[str]
    # What happened, in two or three words, as a message's summary counts it ("failed",
    # "did not run", "restore failed"). Every kind says it.
    what: ClassVar[str]
    # What to do instead when the alert's job or restore ended with one of these statuses
    # (status -> hint): a cause with a remedy of its own, such as a full quota.
    status_hints: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def hint_for(cls, alert: Mapping[str, Any]) -> str:
        """What to do about one firing alert of the kind (a message's context row): the hint
        of its status when it has one (``status_hints``), else the kind's ``hint``."""
        return cls.status_hints.get(str(alert.get("status") or ""), cls.hint)

    # An alert about the CBS itself, not about a user or backup set (the meta-alert):
    # messages name the server instead (the context's ``about_server``).
    about_server: ClassVar[bool] = False

    def applies(self, login: str, set_id: str | None = None, set_name: str | None = None) -> bool:
        scope = self.applies_to
        if scope is None:
            return True
        if scope.logins and not names_any(scope.logins, login):
            return False
        if scope.backup_sets and set_id is None:
            return False
        return not scope.backup_sets or names_any(scope.backup_sets, set_id, set_name)

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        raise NotImplementedError

    def assess(self, snap: UserSnapshot, now: datetime) -> tuple[list[Finding], list[NotJudged]]:
        """``evaluate``'s findings, and the sets the rule could not judge (a kind that
        compares with history, without enough of it): said in ``check --format json``,
        never in messages. Default: every finding, nothing skipped."""
        return self.evaluate(snap, now), []

    def history_days(self) -> int:
        """How many backup days before the checked one this rule reads from
        ``UserSnapshot.history``; 0 (the default) for a rule that needs no history, so a
        config without history rules never reads it."""
        return 0

    def auto_resolution(self, last_fired_day: date, day: date) -> str | None:
        """Whether a firing alert of this rule resolves by itself, quietly, when ``day`` is
        checked (its user checked, no evidence about it that day) and its latest firing
        evidence is of ``last_fired_day``: the summary it resolves with, or None. Default
        None: an alert waits for evidence that the problem is gone."""
        return None

    def due(self, login: str, set_id: str | None, set_name: str | None, day: date) -> bool | None:
        """Whether this rule expects a backup of the set (of the user as a whole when
        ``set_id`` is None) on ``day``, by its schedule; None (the default) when it has no
        say. Job history calls a set with no job that day ``not_due`` rather than ``missed``
        when every rule with a say calls the day not due (a weekly set on other days)."""
        return None

    def ran_as_scheduled(self, login: str, set_id: str, set_name: str, day: date,
                         modes: Collection[str]) -> bool | None:  # fmt: skip
        """Whether jobs of these ``modes`` (S, M, R: a set's jobs that day) are the backup
        this rule expects of the set on ``day``; None when it has no say. Job history then
        adds a ``missed`` day to a set that ran only by hand where a scheduled backup was
        due, as the rule's alert says, so the grid is not green where an alert fires."""
        return None

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        """Alerts of this kind as people would get them, about the day of ``evening``
        (22:15 that day, in the config's zone): what ``cbsalert validate`` renders every
        template with and ``test-notify`` sends (``cbsalert.notify.testmsg`` adds hostile
        variations). Every kind gives at least one."""
        raise NotImplementedError(f"{cls.__name__} has no sample alerts")

    @classmethod
    def sample(
        cls,
        evening: datetime,
        state: AlertState,
        severity: Severity,
        summary: str,
        *,
        days: int | None = None,
        previous: Severity | None = None,
        login: str = "example-user",
        **fields: Any,
    ) -> AlertEvent:
        """One sample alert of the kind (see ``samples``), failing for ``days`` days."""
        finding = Finding(
            rule=f"sample-{cls.kind_name()}", kind=cls.kind_name(), severity=severity,
            firing=state != "resolved", login=login, day=evening.date(), summary=summary,
            **fields,
        )  # fmt: skip
        return sample_event(finding, state, evening, days=days, previous=previous)

    @classmethod
    def kind_name(cls) -> str:
        """The kind, as the config and the stored alerts name it."""
        return str(cls.model_fields["kind"].default)

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
            "destination_name": result.destination_name,
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


class StatusRule(RuleBase):
    """A kind that judges a record by its status, on one ladder: a status in
    ``ok_statuses`` is clear; one in ``warning_statuses`` fires at severity ``warning``;
    any other, an empty or unknown one too, fails at the rule's severity (a status not
    known to be good is never success). ``running_statuses`` are not judged yet."""

    ok_statuses: list[str]
    warning_statuses: list[str]
    running_statuses: list[str]

    def status_finding(self, snap: UserSnapshot, what: str, fields: dict[str, Any]) -> Finding:
        """The finding about a record whose ``fields`` hold its ``status`` and set;
        ``what`` names the record in the summary (``Backup of``, ``Restore from``)."""
        status = fields["status"]
        label = set_label(fields, quote=True)
        if status in self.ok_statuses:
            summary = status_sentence(what, label, status, "ok")
            return self.finding(snap, False, summary, **fields)
        warning = status in self.warning_statuses
        severity: Severity = "warning" if warning else self.severity
        summary = status_sentence(what, label, status, "warning" if warning else "failed")
        return self.finding(snap, True, summary, **{**fields, "severity": severity})


def sample_event(
    finding: Finding,
    state: AlertState,
    evening: datetime,
    *,
    days: int | None = None,
    previous: Severity | None = None,
) -> AlertEvent:
    """The event a real run makes of a sample finding in ``state``, failing for ``days``
    backup days, after people heard ``previous`` (``cbsalert.samplerun.replay``: the real
    reconciliation, so the samples count days as real messages do)."""
    from cbsalert.samplerun import replay  # it reconciles, and reconciliation asks the rules

    return replay(finding, state, evening, days=days, previous=previous)
