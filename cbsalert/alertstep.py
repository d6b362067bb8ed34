"""One finding against its stored alert: the next state, the event people hear, and the
transition rows (``next_step``). Pure, like ``reconcile``, whose promises it keeps for one
alert: announced once, reminders after ``repeat_interval``, ``escalated`` above the
severity people last heard, ``unsilenced`` for an episode that began silenced, re-runs and
backfills as no-ops, and resolving only on clear evidence newer than the stored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from cbsalert.model import AlertEvent, AlertState, Finding, Severity, worse
from cbsalert.rules import RuleBase
from cbsalert.stored import AlertSnapshot, TransitionRecord, TransitionState, days_failing

# A daily job with `repeat_interval: 24h` starts a few seconds earlier or later each day; a
# reminder is due when the interval has passed up to this slack (at most a tenth of it).
REPEAT_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class Step:
    """One finding's effect: the event (if any), the alert after it (None: nothing to
    store), and the transition rows to record."""

    event: AlertEvent | None = None
    after: AlertSnapshot | None = None
    transitions: tuple[TransitionRecord, ...] = ()


def next_step(
    finding: Finding,
    snap: AlertSnapshot | None,
    rule: RuleBase,
    silenced: bool,
    now: datetime,
) -> Step:
    """What ``finding`` does to its stored alert (``snap``, None if it has none): the event
    people hear, the alert after it, and the transition rows."""
    if snap is not None and _stale(finding, snap) and not rule.live:
        # A re-run of the same day or a backfill: the stored state is newer or as new.
        if snap.state != "firing":
            return Step()
        if not finding.firing:  # older good news: still reported as firing, as stored
            stored = snapshot_finding(snap, day=snap.last_day, summary=snap.summary)
            # The store keeps no destination name; this run's evidence has it.
            finding = replace(stored, destination_name=finding.destination_name)
        return Step(event=alert_event(finding, "firing", snap, silenced))
    if finding.firing:
        return _fire(finding, snap, rule, silenced, now)
    if snap is None:
        return Step()  # clear, and never fired: nothing to store
    seen = _observe(snap, finding)
    if snap.state == "resolved":
        return Step(after=seen)
    tell = rule.send_resolved and snap.notified_this_episode and not silenced
    after = replace(
        seen,
        state="resolved",
        resolved_at=now,
        last_notified_at=now if tell else snap.last_notified_at,
    )
    # A clear finding carries the rule's default severity; the alert resolves with its own.
    finding = replace(finding, severity=snap.severity)
    return Step(
        event=alert_event(finding, "resolved", after, silenced, rule.notify if tell else ()),
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
) -> Step:
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
        return Step(
            event=alert_event(finding, "new", after, silenced, rule.notify),
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
        return Step(
            event=alert_event(finding, "firing", seen, silenced), after=seen, transitions=changed
        )
    if not snap.notified_this_episode:
        # It started while silenced (or before the silence was lifted): this is the first
        # message people get about it, but not a new episode.
        return Step(
            event=alert_event(finding, "unsilenced", seen, silenced, rule.notify),
            after=_told(seen, now),
            transitions=changed,
        )
    heard = snap.notified_severity or snap.severity
    if worse(finding.severity, heard):
        return Step(
            event=alert_event(finding, "escalated", seen, silenced, rule.notify, previous=heard),
            after=_told(seen, now),
            transitions=changed,
        )
    if _repeat_due(rule.repeat_interval, snap.last_notified_at, now):
        repeat = TransitionRecord(now, finding.day, "firing", "repeat", finding.summary)
        return Step(
            event=alert_event(finding, "repeat", seen, silenced, rule.notify, previous=heard),
            after=_told(seen, now),
            transitions=(*changed, repeat),
        )
    return Step(
        event=alert_event(finding, "firing", seen, silenced), after=seen, transitions=changed
    )


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


def alert_event(
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
        days_failing=_days_failing(snap, None if state == "resolved" else finding.day),
        silenced=silenced,
        notify=() if silenced else tuple(notify),
        previous_severity=previous if previous != finding.severity else None,
        first_failed_day=snap.since_day,
    )


def _days_failing(snap: AlertSnapshot, day: date | None) -> int:
    """Days from the first failing day (``since_day``) to the latest one, both counted: the
    stored one, or ``day`` when it is later (a backfill reports the stored); a resolved
    alert's (``day`` None) ends on its last firing evidence, not on the clear day."""
    last = snap.last_fired_day if day is None else max(day, snap.last_fired_day)
    return days_failing(snap.since_day, last)


def snapshot_finding(
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
