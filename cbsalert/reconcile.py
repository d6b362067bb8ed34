"""Reconciliation: today's findings against the stored alerts, as a pure function.

``reconcile_findings`` takes plain data (findings, snapshots of the stored alerts, the
rules, the active silences, the checked day and ``now``) and returns what to tell people
(``AlertEvent``s) and how the stored alerts change (``AlertChange``s). ``StateStore`` loads
the snapshots and writes the changes; nothing here touches a database or the clock. Here
the day's findings are ordered and walked, with what resolves an alert without a finding
of its own (a deleted set, a quiet restore); what one finding does to its alert is
``alertstep.next_step``.

The promises it keeps, from issue 4:

* an alert that starts firing is announced once; while it keeps firing nobody hears about
  it again, unless the rule's ``repeat_interval`` has passed since the last message;
* it resolves on a later day whose evidence is clear (a message unless ``send_resolved``
  is false, and only if people were told it was firing); a day without evidence changes
  nothing, and neither does evidence for a day no newer than the alert's latest evidence
  (re-runs and backfills are no-ops), except the verdict on a job that was still running
  at its day's check (``Finding.carried``), which may change what that day said;
* a failed restore is an event: it resolves with a later good restore, or quietly after
  the rule's ``auto_resolve`` without a new failure (only for users actually checked; any
  kind may resolve quietly so, through its ``auto_resolution`` hook);
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
  so does every firing alert of a user ListUsers no longer lists (and no entry names): a
  deleted user is checked no more, so nothing else would clear them either;
* findings of rules no longer in the config, and alerts of such rules, are left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime

from cbsalert.alertstep import alert_event, next_step, snapshot_finding
from cbsalert.model import AlertEvent, Finding
from cbsalert.rules import RuleBase
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
    users_on_cbs: Collection[str] | None = None,
) -> tuple[list[AlertEvent], list[AlertChange]]:
    """Events (in finding order, then alerts that resolved by themselves, then those firing
    without evidence today) and changes to store.

    ``existing`` must hold the stored alert for every finding's key that has one, and every
    firing alert (for auto-resolve, and to report what is firing); resolved alerts without
    a finding may be omitted.
    ``sets_on_cbs`` maps a login to the ids of every set ListBackupSets listed for it this
    run; their firing alerts about a set then resolve when it is gone.
    ``users_on_cbs`` holds every login ListUsers listed this run and every one a watch entry
    names (None: not known); the firing alerts of any other user then resolve.
    """
    findings = list(findings)
    findings += _removed_sets(existing.values(), findings, sets_on_cbs or {}, day)
    if users_on_cbs is not None:
        findings += _removed_users(existing.values(), findings, users_on_cbs, rules, day)
    current: dict[str, AlertSnapshot] = dict(existing)
    transitions: dict[str, list[TransitionRecord]] = {}
    events: list[AlertEvent] = []
    with_evidence: set[str] = set()
    for finding in _ordered(findings):
        rule = rules.get(finding.rule)
        if rule is None:
            continue
        with_evidence.add(finding.key)
        silenced = _silenced(silences, finding, now)
        step = next_step(finding, current.get(finding.key), rule, silenced, now)
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
            finding = snapshot_finding(snap, day=snap.last_day, summary=snap.summary)
            events.append(alert_event(finding, "firing", snap, _silenced(silences, finding, now)))
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
        out.append(snapshot_finding(snap, day=day, summary=summary, firing=False))
    return out


def _removed_users(
    stored: Iterable[AlertSnapshot],
    findings: list[Finding],
    users_on_cbs: Collection[str],
    rules: Mapping[str, RuleBase],
    day: date,
) -> list[Finding]:
    """Clear evidence, with the reason, for each firing alert of a user no longer on the CBS;
    an alert about the server itself (the meta-alert) belongs to no user."""
    judged = {f.key for f in findings}
    out = []
    for snap in stored:
        rule = rules.get(snap.rule)
        if snap.state != "firing" or snap.login in users_on_cbs or snap.key in judged:
            continue
        if rule is None or rule.about_server:
            continue
        summary = f"Resolved: user no longer on the CBS ({snap.login} is not among its users)."
        out.append(snapshot_finding(snap, day=day, summary=summary, firing=False))
    return out


def _silenced(silences: Collection[ActiveSilence], finding: Finding, now: datetime) -> bool:
    return any(
        s.matches(finding.rule, finding.login, finding.backup_set_id, finding.backup_set_name, now)
        for s in silences
    )


def _auto_resolve(
    snap: AlertSnapshot,
    rule: RuleBase | None,
    silences: Collection[ActiveSilence],
    day: date,
    now: datetime,
) -> tuple[AlertEvent, AlertSnapshot, TransitionRecord] | None:
    """A firing alert whose rule says it resolves by itself (``RuleBase.auto_resolution``:
    a failed restore with no new failure for ``auto_resolve``) resolves, quietly."""
    if snap.state != "firing" or rule is None or day < snap.last_day:
        return None
    summary = rule.auto_resolution(snap.last_fired_day, day)
    if summary is None:
        return None
    after = replace(snap, state="resolved", resolved_at=now, last_day=day, summary=summary)
    finding = snapshot_finding(after, day=day, summary=summary)
    silenced = _silenced(silences, finding, now)
    event = alert_event(finding, "resolved", after, silenced)
    return event, after, TransitionRecord(now, day, "firing", "resolved", summary)
