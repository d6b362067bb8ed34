"""Reconciliation: today's findings against the stored alerts, as a pure function.

``reconcile_findings`` takes plain data (findings, snapshots of the stored alerts, the
rules, the active silences, the checked day and ``now``) and returns what to tell people
(``AlertEvent``s) and how the stored alerts change (``AlertChange``s). ``StateStore`` loads
the snapshots and writes the changes; nothing here touches a database or the clock.

The promises it keeps, from issue 4:

* an alert that starts firing is announced once; while it keeps firing nobody hears about
  it again, unless the rule's ``repeat_interval`` has passed since the last message;
* it resolves on a later day whose evidence is clear (a message unless ``send_resolved``
  is false, and only if people were told it was firing); a day without evidence changes
  nothing, and neither does evidence for a day no newer than the alert's latest evidence
  (re-runs and backfills are no-ops), except the verdict on a job that was still running
  at its day's check (``Finding.carried``), which may change what that day said;
* a failed restore is an event: it resolves with a later good restore, or quietly after
  the rule's ``auto_resolve`` without a new failure (only for users actually checked);
* silenced alerts change state as usual but send nothing; an episode is ``new`` once, in
  the run where it starts (silenced or not); if it started while silenced, its first
  message goes out at the first check after the silence ends, as ``unsilenced``;
* an alert keeps the severity of its latest firing evidence, also once resolved; a
  severity above the one people last heard is announced (``escalated``), a lower one is
  stored and shown in the next reminder; every change of severity is a transition;
* every firing alert of a configured rule is reported, with evidence that day or not
  (``firing`` with the day of its latest evidence), so a run's events are what is firing
  plus what changed;
* a firing alert about a backup set that ListBackupSets no longer lists for its (checked)
  user resolves, saying so: a deleted set has no jobs, so nothing else would ever clear it;
* findings of rules no longer in the config, and alerts of such rules, are left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from cbsalert.model import AlertEvent, AlertState, Finding, Severity, worse
from cbsalert.rules import RestoreStatusRule, RuleBase
from cbsalert.stored import (
    ActiveSilence,
    AlertChange,
    AlertSnapshot,
    StoredState,
    TransitionRecord,
    TransitionState,
)

__all__ = [
    "ActiveSilence", "AlertChange", "AlertSnapshot", "StoredState", "TransitionRecord",
    "TransitionState", "reconcile_findings",
]  # fmt: skip

# A daily job with `repeat_interval: 24h` starts a few seconds earlier or later each day; a
# reminder is due when the interval has passed up to this slack (at most a tenth of it).
REPEAT_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class _Step:
    event: AlertEvent | None = None
    after: AlertSnapshot | None = None
    transitions: tuple[TransitionRecord, ...] = ()


def reconcile_findings(
    findings: Iterable[Finding],
    existing: Mapping[str, AlertSnapshot],
    rules: Mapping[str, RuleBase],
    silences: Collection[ActiveSilence],
    *,
    day: date,
    now: datetime,
    checked_logins: Collection[str],
    sets_on_cbs: Mapping[str, Collection[str]] | None = None,
) -> tuple[list[AlertEvent], list[AlertChange]]:
    """Events (in finding order, then auto-resolved restores, then alerts still firing
    without evidence today) and changes to store.

    ``existing`` must hold the stored alert for every finding's key that has one, and every
    firing alert (for auto-resolve, and to report what is firing); resolved alerts without
    a finding may be omitted.
    ``sets_on_cbs`` maps a login to the ids of every set ListBackupSets listed for it this
    run; their firing alerts about a set then resolve when it is gone.
    """
    findings = list(findings)
    findings += _removed_sets(existing.values(), findings, sets_on_cbs or {}, day)
    current: dict[str, AlertSnapshot] = dict(existing)
    transitions: dict[str, list[TransitionRecord]] = {}
    events: list[AlertEvent] = []
    with_evidence: set[str] = set()
    for finding in _ordered(findings):
        rule = rules.get(finding.rule)
        if rule is None:
            continue
        with_evidence.add(finding.key)
        step = _step(finding, current.get(finding.key), rule, silences, now)
        if step.event is not None:
            events.append(step.event)
        if step.after is not None:
            current[finding.key] = step.after
            transitions.setdefault(finding.key, []).extend(step.transitions)
    for key, snap in list(current.items()):
        if key in with_evidence or snap.login not in checked_logins:
            continue
        resolved = _auto_resolve(snap, rules.get(snap.rule), silences, day, now)
        if resolved is not None:
            event, after, transition = resolved
            events.append(event)
            current[key] = after
            transitions[key] = [transition]
    for key in sorted(current.keys() - with_evidence):
        snap = current[key]
        rule = rules.get(snap.rule)
        if snap.state == "firing" and rule is not None:
            finding = _snapshot_finding(snap, day=snap.last_day, summary=snap.summary)
            events.append(_event(finding, "firing", snap, _silenced(silences, finding, now)))
    changes = [AlertChange(current[key], tuple(steps)) for key, steps in transitions.items()]
    return events, changes


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per key and day (firing wins), oldest day first."""
    chosen: dict[tuple[str, date], Finding] = {}
    for finding in findings:
        slot = (finding.key, finding.day)
        if slot not in chosen or (finding.firing and not chosen[slot].firing):
            chosen[slot] = finding
    return sorted(chosen.values(), key=lambda f: f.day)


def _removed_sets(
    stored: Iterable[AlertSnapshot],
    findings: list[Finding],
    sets_on_cbs: Mapping[str, Collection[str]],
    day: date,
) -> list[Finding]:
    """Clear evidence, with the reason, for each firing alert about a set its user's
    ListBackupSets no longer lists. The day's own evidence about the set comes first (a job
    that ran before the set was deleted)."""
    judged = {f.key for f in findings}
    out = []
    for snap in stored:
        listed = sets_on_cbs.get(snap.login)
        if snap.state != "firing" or listed is None or not snap.backup_set_id:
            continue
        if snap.backup_set_id in listed or snap.key in judged:
            continue
        name = f"'{snap.backup_set_name}' " if snap.backup_set_name else ""
        summary = (
            f"Resolved: backup set no longer exists ({name}set {snap.backup_set_id} is not "
            f"among {snap.login}'s backup sets on the CBS)."
        )
        out.append(_snapshot_finding(snap, day=day, summary=summary, firing=False))
    return out


def _silenced(silences: Collection[ActiveSilence], finding: Finding, now: datetime) -> bool:
    return any(
        s.matches(finding.rule, finding.login, finding.backup_set_id, finding.backup_set_name, now)
        for s in silences
    )


def _days_failing(snap: AlertSnapshot, day: date) -> int:
    """Days from the first failing day to the latest one (a backfill reports the stored)."""
    return (max(day, snap.last_fired_day) - snap.since_day).days + 1


def _event(
    finding: Finding,
    state: AlertState,
    snap: AlertSnapshot,
    silenced: bool,
    notify: Collection[str] = (),
    previous: Severity | None = None,
) -> AlertEvent:
    return AlertEvent(
        finding=finding,
        state=state,
        since=snap.since,
        days_failing=None if state == "resolved" else _days_failing(snap, finding.day),
        silenced=silenced,
        notify=() if silenced else tuple(notify),
        previous_severity=previous if previous != finding.severity else None,
    )


def _step(
    finding: Finding,
    snap: AlertSnapshot | None,
    rule: RuleBase,
    silences: Collection[ActiveSilence],
    now: datetime,
) -> _Step:
    silenced = _silenced(silences, finding, now)
    if snap is not None and _stale(finding, snap) and not rule.live:
        # A re-run of the same day or a backfill: the stored state is newer or as new.
        if snap.state != "firing":
            return _Step()
        if not finding.firing:  # older good news: still reported as firing, as stored
            finding = _snapshot_finding(snap, day=snap.last_day, summary=snap.summary)
        return _Step(event=_event(finding, "firing", snap, silenced))
    if finding.firing:
        return _fire(finding, snap, rule, silenced, now)
    if snap is None:
        return _Step()  # clear, and never fired: nothing to store
    seen = _observe(snap, finding)
    if snap.state == "resolved":
        return _Step(after=seen)
    tell = rule.send_resolved and snap.notified_this_episode and not silenced
    after = replace(
        seen,
        state="resolved",
        resolved_at=now,
        last_notified_at=now if tell else snap.last_notified_at,
    )
    # A clear finding carries the rule's default severity; the alert resolves with its own.
    finding = replace(finding, severity=snap.severity)
    return _Step(
        event=_event(finding, "resolved", after, silenced, rule.notify if tell else ()),
        after=after,
        transitions=(TransitionRecord(now, finding.day, "firing", "resolved", finding.summary),),
    )


def _stale(finding: Finding, snap: AlertSnapshot) -> bool:
    """Evidence no newer than the stored: a re-run or a backfill. A carried-over job's
    verdict is about its own day, but newer than what that day's check could store."""
    if finding.carried:
        return finding.day < snap.last_day
    return finding.day <= snap.last_day


def _observe(snap: AlertSnapshot, finding: Finding) -> AlertSnapshot:
    """The snapshot updated with newer evidence, state unchanged; only firing evidence
    says how severe the alert is."""
    return replace(
        snap,
        severity=finding.severity if finding.firing else snap.severity,
        owner=finding.owner or snap.owner,
        backup_set_name=finding.backup_set_name or snap.backup_set_name,
        last_day=finding.day,
        last_fired_day=finding.day if finding.firing else snap.last_fired_day,
        summary=finding.summary,
    )


def _fire(
    finding: Finding, snap: AlertSnapshot | None, rule: RuleBase, silenced: bool, now: datetime
) -> _Step:
    if snap is None or snap.state == "resolved":
        after = AlertSnapshot(
            key=finding.key,
            rule=finding.rule,
            kind=finding.kind,
            severity=finding.severity,
            login=finding.login,
            state="firing",
            since=now,
            since_day=finding.day,
            last_day=finding.day,
            last_fired_day=finding.day,
            owner=finding.owner,
            backup_set_id=finding.backup_set_id,
            backup_set_name=finding.backup_set_name,
            destination_id=finding.destination_id,
            last_notified_at=snap.last_notified_at if snap else None,
            notified_severity=snap.notified_severity if snap else None,
            summary=finding.summary,
            id=snap.id if snap else None,
        )
        return _Step(
            event=_event(finding, "new", after, silenced, rule.notify),
            after=after if silenced else _told(after, now),
            transitions=(
                TransitionRecord(
                    now, finding.day, snap.state if snap else None, "firing", finding.summary
                ),
            ),
        )
    seen = _observe(snap, finding)
    changed = _severity_change(snap, finding, now)
    if silenced:
        return _Step(
            event=_event(finding, "firing", seen, silenced), after=seen, transitions=changed
        )
    if not snap.notified_this_episode:
        # It started while silenced (or before the silence was lifted): this is the first
        # message people get about it, but not a new episode.
        return _Step(
            event=_event(finding, "unsilenced", seen, silenced, rule.notify),
            after=_told(seen, now),
            transitions=changed,
        )
    heard = snap.notified_severity or snap.severity
    if worse(finding.severity, heard):
        return _Step(
            event=_event(finding, "escalated", seen, silenced, rule.notify, previous=heard),
            after=_told(seen, now),
            transitions=changed,
        )
    if _repeat_due(rule.repeat_interval, snap.last_notified_at, now):
        repeat = TransitionRecord(now, finding.day, "firing", "repeat", finding.summary)
        return _Step(
            event=_event(finding, "repeat", seen, silenced, rule.notify, previous=heard),
            after=_told(seen, now),
            transitions=(*changed, repeat),
        )
    return _Step(event=_event(finding, "firing", seen, silenced), after=seen, transitions=changed)


def _told(snap: AlertSnapshot, now: datetime) -> AlertSnapshot:
    """The snapshot after a message about it went out: what people heard, and when."""
    return replace(snap, last_notified_at=now, notified_severity=snap.severity)


def _severity_change(
    snap: AlertSnapshot, finding: Finding, now: datetime
) -> tuple[TransitionRecord, ...]:
    """A transition row when firing evidence changes the alert's severity."""
    if finding.severity == snap.severity:
        return ()
    to_state: TransitionState = (
        "escalated" if worse(finding.severity, snap.severity) else "deescalated"
    )
    summary = f"{snap.severity} -> {finding.severity}: {finding.summary}"
    return (TransitionRecord(now, finding.day, "firing", to_state, summary),)


def _repeat_due(interval: timedelta | None, last: datetime | None, now: datetime) -> bool:
    if interval is None or last is None:
        return False
    return now - last >= interval - min(interval / 10, REPEAT_SLACK)


def _snapshot_finding(
    snap: AlertSnapshot, *, day: date, summary: str, firing: bool | None = None
) -> Finding:
    """What the stored alert knows, as a finding about ``day`` (no job details: the store
    keeps none), at the severity it fired with. Firing while the alert fires unless
    ``firing`` says otherwise; a resolved alert's is clear."""
    return Finding(
        rule=snap.rule,
        kind=snap.kind,
        severity=snap.severity,
        firing=snap.state == "firing" if firing is None else firing,
        login=snap.login,
        day=day,
        owner=snap.owner,
        backup_set_id=snap.backup_set_id,
        backup_set_name=snap.backup_set_name,
        destination_id=snap.destination_id,
        summary=summary,
    )


def _auto_resolve(
    snap: AlertSnapshot,
    rule: RuleBase | None,
    silences: Collection[ActiveSilence],
    day: date,
    now: datetime,
) -> tuple[AlertEvent, AlertSnapshot, TransitionRecord] | None:
    """A failed restore with no new failure for ``auto_resolve`` resolves, quietly."""
    if snap.state != "firing" or not isinstance(rule, RestoreStatusRule):
        return None
    quiet_days = (day - snap.last_fired_day).days
    if day < snap.last_day or timedelta(days=quiet_days) < rule.auto_resolve:
        return None
    summary = f"No new failed restore for {quiet_days} days; resolved automatically."
    after = replace(snap, state="resolved", resolved_at=now, last_day=day, summary=summary)
    finding = _snapshot_finding(after, day=day, summary=summary)
    silenced = _silenced(silences, finding, now)
    event = _event(finding, "resolved", after, silenced)
    return event, after, TransitionRecord(now, day, "firing", "resolved", summary)
