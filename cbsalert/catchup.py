"""Catch-up: the days a run checks, and what several days mean for the alerts.

A daily check judges yesterday. A day on which it could not run (the CBS or cbsalert was
down) or could not check a user would otherwise never be judged, and a backup that failed
only then would never be told. So the state store keeps, per watched user, the last day
checked in full (``checked_through``), and each run without ``--date`` also checks, oldest
first, every day after it, at most ``catch_up_days`` before yesterday; older missed days
are given up, and said so. A user without a record (a new installation, a login just added
to the watch list) is checked for yesterday only.

Plain data in, plain data out, no clock and no database: ``plan_days`` says which users
each day is checked for, ``advance`` how far each user is checked after the run, and
``reconcile_days`` threads the days' evidence through ``reconcile_findings`` oldest first,
so newer evidence wins, while the run sends one message per notifier about all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo

from cbsalert.model import AlertEvent, Finding
from cbsalert.reconcile import (
    ActiveSilence,
    AlertChange,
    AlertSnapshot,
    TransitionRecord,
    reconcile_findings,
)
from cbsalert.rules import RuleBase


def yesterday(now: datetime, zone: tzinfo) -> date:
    """The day a daily check judges: yesterday, as a calendar day in ``zone`` (the config's
    ``timezone``). The run (``pipeline.default_day``) and the sample alerts of
    ``test-notify`` and ``validate`` both take it from here."""
    return now.astimezone(zone).date() - timedelta(days=1)


@dataclass(frozen=True)
class DayPlan:
    """``days`` oldest first (the last one is the run's day); ``due`` the logins to check on
    each, in watch order; ``not_checked`` the missed days older than the limit."""

    days: list[date]
    due: dict[date, list[str]]
    not_checked: list[date] = field(default_factory=list)

    @property
    def caught_up(self) -> list[date]:
        """The days before the run's day: the ones caught up."""
        return self.days[:-1]


def plan_days(
    day: date, logins: Sequence[str], checked_through: Mapping[str, date], limit: int | None
) -> DayPlan:
    """Yesterday (``day``) for every login, and each login's days missed since its record,
    at most ``limit`` days before ``day``. ``limit=None``: exactly ``day`` (``--date``)."""
    due: dict[date, list[str]] = {}
    missed: set[date] = set()
    if limit is not None:
        oldest = day - timedelta(days=limit)
        for login in logins:
            last = checked_through.get(login)
            if last is None:
                continue
            for n in range((day - last).days - 1):
                missed_day = last + timedelta(days=n + 1)
                if missed_day < oldest:
                    missed.add(missed_day)
                else:
                    due.setdefault(missed_day, []).append(login)
    due[day] = list(logins)
    return DayPlan(sorted(due), {d: due[d] for d in sorted(due)}, sorted(missed))


def advance(
    checked_through: Mapping[str, date],
    plan: DayPlan,
    checked: Mapping[date, Collection[str]],
    *,
    catch_up: bool,
) -> dict[str, date]:
    """The users whose record moves, and to which day: the last day of an unbroken row of
    days checked from the record on (days given up by ``plan`` do not break it). A user is
    not taken further than a day it could not be checked, so that day is due next run.

    ``catch_up`` is False for ``--date``: a hand-picked day moves a record only when it is
    the day after it, and never starts one."""
    out: dict[str, date] = {}
    for login in plan.due[plan.days[-1]]:
        last = checked_through.get(login)
        for day in plan.days:
            if login not in plan.due[day] or (last is not None and day <= last):
                continue
            if login not in checked.get(day, ()):
                break
            if not catch_up and (last is None or day != last + timedelta(days=1)):
                break
            last = out[login] = day
    return out


# -- several days of evidence -----------------------------------------------------------------


@dataclass(frozen=True)
class DayEvidence:
    """What one day's check found: the findings, the users checked in full, the sets
    ListBackupSets listed per user, and (on the run's day) the users on the CBS, when
    ListUsers was asked (see ``reconcile_findings``)."""

    day: date
    findings: Sequence[Finding]
    checked_logins: Collection[str] = frozenset()
    sets_on_cbs: Mapping[str, Collection[str]] = field(default_factory=dict)
    users_on_cbs: Collection[str] | None = None


def with_run_findings(
    days: Sequence[DayEvidence],
    day: date,
    findings: Sequence[Finding],
    users_on_cbs: Collection[str] | None = None,
) -> list[DayEvidence]:
    """The days' evidence with the run's own findings (the built-in alerts, whose evidence
    is the run) added to the run's ``day``: to its evidence, or as a day of their own when
    it was not checked (the CBS could not be used). ``users_on_cbs`` (what ListUsers said
    in the run) goes with the run's day, once its users were checked."""
    out = list(days)
    if out and out[-1].day == day:
        last = out.pop()
        out.append(replace(last, findings=[*last.findings, *findings], users_on_cbs=users_on_cbs))
    else:
        out.append(DayEvidence(day, findings))
    return out


def reconcile_days(
    days: Sequence[DayEvidence],
    existing: Mapping[str, AlertSnapshot],
    rules: Mapping[str, RuleBase],
    silences: Collection[ActiveSilence],
    *,
    now: datetime,
) -> tuple[list[AlertEvent], list[AlertChange]]:
    """``reconcile_findings`` for each day, oldest first, each day starting from the state
    the one before left; the changes are merged (one per alert, its transitions in order).

    The events are what a run on time would have said each day, each with its day, plus
    what is still firing: an alert that changed keeps every change (new on one day,
    resolved on the next), and its "still firing" event only when there is later evidence
    than its last change. ``existing`` is as ``reconcile_findings`` wants it, for every
    day's findings."""
    current: dict[str, AlertSnapshot] = dict(existing)
    transitions: dict[str, list[TransitionRecord]] = {}
    events: list[AlertEvent] = []
    for evidence in sorted(days, key=lambda e: e.day):
        found, changes = reconcile_findings(
            evidence.findings, current, rules, silences, day=evidence.day, now=now,
            checked_logins=evidence.checked_logins, sets_on_cbs=evidence.sets_on_cbs,
            users_on_cbs=evidence.users_on_cbs,
        )  # fmt: skip
        events.extend(found)
        for change in changes:
            current[change.after.key] = change.after
            transitions.setdefault(change.after.key, []).extend(change.transitions)
    merged = [AlertChange(current[key], tuple(steps)) for key, steps in transitions.items()]
    return _merge(events), merged


def _merge(events: list[AlertEvent]) -> list[AlertEvent]:
    """Every change, and per alert the last "still firing" event if its evidence is newer
    than the alert's last change (one day's events pass unchanged)."""
    changed: dict[str, date] = {}
    last_firing: dict[str, int] = {}
    for i, event in enumerate(events):
        key = event.finding.key
        if event.state == "firing":
            last_firing[key] = i
        else:
            changed[key] = max(changed.get(key, event.finding.day), event.finding.day)
    return [
        event
        for i, event in enumerate(events)
        if event.state != "firing"
        or (
            last_firing[event.finding.key] == i
            and event.finding.day > changed.get(event.finding.key, date.min)
        )
    ]
