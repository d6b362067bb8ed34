"""What a check saw of a user's day, as job history rows (``cbsalert.jobhistory``). Pure.

One row per job and destination looked at; one row per expected set that had no job that
day: ``missed``, or ``not_due`` when the rules with a say on its schedule (``missing_backup``'s
``days``, through ``RuleBase.due``) all call the day not due; one ``unchecked`` row per user
that could not be checked. A user checked with no set known and no job gets one row about
the user as a whole (``missed`` or ``not_due`` likewise), so that its day counts as seen
(backfill does not fetch it again). Restores are not kept.

A job's outcome follows the statuses of the config's first ``backup_status`` rule (the
kind's defaults without one), so the history, and the report made of it, call a job what
the alerts call it: ``ok``, ``warning``, ``failed``; ``running`` while it has no end time
and its status says it is in progress. An unknown status is never ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cbsalert.jobhistory import HistoryJob, Outcome
from cbsalert.model import JobResult, UserSnapshot
from cbsalert.rules import BackupStatusRule, RuleBase


@dataclass(frozen=True)
class Verdicts:
    """The statuses that make a job ok, a warning, or still in progress."""

    ok: frozenset[str]
    warning: frozenset[str]
    running: frozenset[str]

    @classmethod
    def of(cls, rules: Iterable[RuleBase]) -> Verdicts:
        """Those of the first ``backup_status`` rule in ``rules``, else the kind's defaults."""
        found = next((r for r in rules if isinstance(r, BackupStatusRule)), None)
        rule = found or BackupStatusRule(id="history")
        return cls(
            frozenset(rule.ok_statuses),
            frozenset(rule.warning_statuses),
            frozenset(rule.running_statuses),
        )

    def outcome(self, result: JobResult) -> Outcome:
        """As ``backup_status`` judges the job: a job with an end time has finished, whatever
        its status says; one without a report could not be judged yet."""
        report = result.report
        if report is None:
            return "running" if result.job.running else "failed"
        if report.status in self.running and result.job.running:
            return "running"
        if report.status in self.ok:
            return "ok"
        return "warning" if report.status in self.warning else "failed"


def job_row(snap: UserSnapshot, result: JobResult, verdicts: Verdicts) -> HistoryJob:
    """One job on one destination; times as the rules read them (the report's, else the
    job list's), aware, in the config's zone."""
    job, report = result.job, result.report
    return HistoryJob(
        login=snap.login,
        backup_set_id=job.backup_set_id,
        destination_id=result.destination_id,
        day=snap.day,
        outcome=verdicts.outcome(result),
        job_id=job.id,
        mode=job.mode,
        status=report.status if report else None,
        start_time=snap.aware((report and report.start_time) or job.start_time),
        end_time=snap.aware((report and report.end_time) or job.end_time),
        errors=report.errors if report else None,
        warnings=report.warnings if report else None,
        new_files=report.new_files if report else None,
        updated_files=report.updated_files if report else None,
        deleted_files=report.deleted_files if report else None,
        new_size=report.new_files_size if report else None,
        updated_size=report.updated_files_size if report else None,
        deleted_size=report.deleted_files_size if report else None,
        owner=snap.owner,
        backup_set_name=job.backup_set_name or snap.expected_sets.get(job.backup_set_id) or None,
        moved_files=report.moved_files if report else None,
        moved_size=report.moved_files_size if report else None,
        dedupe_original_size=report.dedupe_original_size if report else None,
    )


def snapshot_rows(
    snap: UserSnapshot, verdicts: Verdicts, rules: Sequence[RuleBase] = ()
) -> list[HistoryJob]:
    """Every row of a user's checked day; ``rules`` are the user's (for ``due``)."""
    rows = [job_row(snap, result, verdicts) for result in snap.jobs]
    modes: dict[str, set[str]] = {}
    for result in snap.jobs:
        modes.setdefault(result.job.backup_set_id, set()).add(result.job.mode or "")
    for set_id, name in snap.expected_sets.items():
        if set_id not in modes:
            outcome = _not_run(rules, snap, set_id, name)
            rows.append(_about(snap.login, snap.owner, snap.day, outcome, set_id, name))
        elif _only_by_hand(rules, snap, set_id, name, modes[set_id]):
            rows.append(_about(snap.login, snap.owner, snap.day, "missed", set_id, name))
    if not rows:
        outcome = _not_run(rules, snap, None, None)
        rows.append(_about(snap.login, snap.owner, snap.day, outcome))
    return rows


def _only_by_hand(
    rules: Sequence[RuleBase], snap: UserSnapshot, set_id: str, name: str, modes: set[str]
) -> bool:
    """Whether a set that ran that day still missed the backup a rule expected of it (it
    ran only by hand, the rule wants a scheduled one): a ``missed`` row beside its jobs."""
    says = [rule.ran_as_scheduled(snap.login, set_id, name, snap.day, modes) for rule in rules]
    return any(say is False for say in says)


def _not_run(
    rules: Sequence[RuleBase], snap: UserSnapshot, set_id: str | None, name: str | None
) -> Outcome:
    """``not_due`` when the rules that have a say on the schedule all call the day not due;
    ``missed`` otherwise (no rule has a say: an expected set is due every day)."""
    says = [rule.due(snap.login, set_id, name, snap.day) for rule in rules]
    known = [say for say in says if say is not None]
    return "not_due" if known and not any(known) else "missed"


def unchecked_rows(logins: Iterable[str], day: date, owners: Mapping[str, str]) -> list[HistoryJob]:
    """One row per user that could not be checked on ``day``."""
    return [
        _about(login, owners.get(login, ""), day, "unchecked") for login in dict.fromkeys(logins)
    ]


def _about(
    login: str, owner: str, day: date, outcome: Outcome, set_id: str | None = None,
    name: str | None = None,
) -> HistoryJob:  # fmt: skip
    return HistoryJob(
        login=login, backup_set_id=set_id or "", destination_id=None, day=day, outcome=outcome,
        owner=owner, backup_set_name=name or None,
    )  # fmt: skip
