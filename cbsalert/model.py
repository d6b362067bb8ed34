"""Plain data passed between the steps of a run: fetch -> evaluate -> reconcile -> notify.

These are dataclasses with no behaviour beyond formatting, so that ``rules`` and ``state``
stay pure functions of them and are tested without any server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Literal

from cbsalert.jobhistory import HistoryJob, SetKey
from cbsalert.records import BackupJob, JobProgress, JobReport, RestoreJob

log = logging.getLogger(__name__)

# A count the CBS sent that cannot be read (NaN, 1e400, "0x10", missing): shown as such, and
# never taken for zero.
UNKNOWN: Literal["unknown"] = "unknown"
Count = int | Literal["unknown"] | None
Severity = Literal["critical", "warning", "info"]
AlertState = Literal["new", "escalated", "unsilenced", "repeat", "firing", "resolved"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
# Why the CBS could not be used (``outage.outage_cause``): the system user was refused
# (``login``), nothing answered in time or at all (``reach``), something answered with
# errors (``answers``). The meta-alert says which.
OutageCause = Literal["login", "reach", "answers"]


def worse(severity: str, than: str) -> bool:
    """Whether ``severity`` is more severe than ``than`` (critical > warning > info)."""
    return SEVERITY_ORDER.get(severity, 9) < SEVERITY_ORDER.get(than, 9)


@dataclass(frozen=True)
class JobResult:
    """One backup job as seen on one destination (``destination_id`` ``None`` when unknown;
    ``destination_name`` the name GetBackupSet gave it, ``None`` when it gave none)."""

    job: BackupJob
    destination_id: str | None
    report: JobReport | None
    progress: JobProgress | None = None
    destination_name: str | None = None


@dataclass
class UserSnapshot:
    """All that was fetched about one watched user for one day.

    ``expected_sets`` maps set id to name; ``sets_source`` says where it came from
    (``config``, ``server``, ``history`` or ``none``) so a report can say how sure it is.
    ``cbs_sets`` holds the id of every set ListBackupSets listed (ignored ones too), or
    None when the server does not offer it: a set not in it no longer exists.
    """

    login: str
    owner: str
    day: date
    expected_sets: dict[str, str]
    sets_source: str
    jobs: list[JobResult] = field(default_factory=list)
    restores: list[RestoreJob] = field(default_factory=list)
    cbs_zone: tzinfo = UTC
    zone: tzinfo = UTC
    # Times already warned about: every rule reads a job's times, the log says it once.
    unplaceable: set[datetime] = field(default_factory=set, repr=False, compare=False)
    cbs_sets: frozenset[str] | None = None
    # The past of the user's sets, per (set id, destination id), oldest first, days before
    # ``day`` only: filled for the rule kinds that compare with history (their
    # ``history_days``), empty otherwise (``cbsalert.jobhistory``).
    history: dict[SetKey, list[HistoryJob]] = field(default_factory=dict, repr=False)

    def aware(self, value: datetime | None) -> datetime | None:
        """A CBS time (naive, in the CBS's zone) as an aware time in the display zone.

        ``None`` (with a warning) for a time that has no place on the calendar once moved
        between zones ("0001-01-01 00:30" in a zone east of UTC): it is unknown for its
        record only. It must also convert to UTC, which rendering and storing may do."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.cbs_zone)
        try:
            value.astimezone(UTC)
            return value.astimezone(self.zone)
        except OverflowError:
            if value not in self.unplaceable:
                self.unplaceable.add(value)
                log.warning("%s: ignoring the CBS time %s: out of range in %s", self.login,
                            value, self.zone)  # fmt: skip
            return None


@dataclass(frozen=True)
class CheckError:
    """A user that could not be checked (for ``day``, when the run knows which); never
    evidence that anything is fixed."""

    login: str
    operation: str
    message: str
    day: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat() if self.day else None}


def alert_key(alert: Mapping[str, Any]) -> str:
    """An alert's identity (rule, login, backup set and destination) from its JSON form: a
    finding's, or a row of a message context, which is how notifiers that deduplicate at
    the provider (PagerDuty's ``dedup_key``) name it."""
    return _key(
        str(alert["rule"]), str(alert["login"]), alert.get("backup_set_id"),
        alert.get("destination_id"),
    )  # fmt: skip


def _key(rule: str, login: str, backup_set_id: str | None, destination_id: str | None) -> str:
    return "|".join((rule, login, backup_set_id or "", destination_id or ""))


@dataclass(frozen=True)
class Finding:
    """What one rule says about one alert identity on one day: firing, or clear."""

    rule: str
    kind: str
    severity: Severity
    firing: bool
    login: str
    day: date
    owner: str = ""
    backup_set_id: str | None = None
    backup_set_name: str | None = None
    destination_id: str | None = None
    # Shown, never part of the key: a renamed destination is the same alert. Not stored with
    # the alert either (no column): a message about the stored alert alone shows the id.
    destination_name: str | None = None
    job_id: str | None = None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    errors: Count = None
    warnings: Count = None
    summary: str = ""
    # About a job that was still running at its day's check, judged at a later one: newer
    # evidence about that day than what its check stored (``cbsalert.carryover``).
    carried: bool = False

    @property
    def key(self) -> str:
        """The alert's identity: rule, login, backup set and destination."""
        return _key(self.rule, self.login, self.backup_set_id, self.destination_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every documented field, times as ISO 8601 with their offset."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "login": self.login,
            "owner": self.owner or None,
            "backup_set_id": self.backup_set_id,
            "backup_set_name": self.backup_set_name,
            "destination_id": self.destination_id,
            "destination_name": self.destination_name,
            "job_id": self.job_id,
            "status": self.status,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "errors": self.errors,
            "warnings": self.warnings,
            "summary": self.summary,
            "date": self.day.isoformat(),
        }


@dataclass(frozen=True)
class AlertEvent:
    """A finding after reconciliation with the state: what, if anything, to tell people.

    ``state`` says what changed: ``new`` (an episode starts firing; once per episode, even
    when it starts silenced), ``escalated`` (it got more severe than people last heard),
    ``unsilenced`` (the first message about an episode that began silenced), ``repeat`` (a
    reminder), ``firing`` (still firing, nothing to say) or ``resolved``.
    ``previous_severity`` is the severity people last heard, when it differs from the
    alert's now (an escalation, or a reminder after it eased). ``notify`` is empty for
    events nobody hears about.

    ``first_failed_day`` is the backup day of the evidence that started the episode (the
    stored ``since_day``), ``days_failing`` the days from it to the latest failing one, both
    ends counted (also once resolved: how long it was failing); ``since`` is when the check
    that noticed it ran, which after a catch-up or a late check is days later.
    """

    finding: Finding
    state: AlertState
    since: datetime | None = None
    days_failing: int | None = None
    silenced: bool = False
    notify: tuple[str, ...] = ()
    previous_severity: Severity | None = None
    first_failed_day: date | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.finding.to_dict()
        data["state"] = self.state
        data["previous_severity"] = self.previous_severity
        data["since"] = self.since.isoformat() if self.since else None
        data["days_failing"] = self.days_failing
        data["first_failed_day"] = (
            self.first_failed_day.isoformat() if self.first_failed_day else None
        )
        data["silenced"] = self.silenced
        return data
