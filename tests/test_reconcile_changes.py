"""Reconcile on plain data: severity changes, silenced episodes and what a run reports
(issue 15.3, 15.5-15.7). The simulator-level stories are in test_alert_changes.py."""

from __future__ import annotations

from cbsalert.reconcile import ActiveSilence
from tests.state_helpers import backup, backup_rule, day, morning, restore, restore_rule, rules_of
from tests.test_reconcile import Timeline, states, told


def test_escalation_is_a_message_and_a_transition_and_resets_the_reminder_clock() -> None:
    line = Timeline(backup_rule(repeat_interval="2d"))
    line.check(1, backup(1, severity="warning"))
    events = line.check(2, backup(2))
    assert told(events) == [("escalated", ("ops",))]
    assert events[0].previous_severity == "warning" and events[0].since == morning(1)
    assert [t.to_state for c in line.changes for t in c.transitions] == ["escalated"]
    assert line.alert().notified_severity == "critical"
    assert told(line.check(3, backup(3))) == []  # the reminder counts from the escalation
    assert told(line.check(4, backup(4))) == [("repeat", ("ops",))]


def test_easing_is_recorded_without_a_message_and_the_reminder_says_what_it_was() -> None:
    line = Timeline(backup_rule(repeat_interval="2d"))
    line.check(1, backup(1))
    eased = line.check(2, backup(2, severity="warning"))
    assert told(eased) == [] and eased[0].previous_severity is None
    assert [t.to_state for c in line.changes for t in c.transitions] == ["deescalated"]
    assert line.alert().severity == "warning"
    reminder = line.check(3, backup(3, severity="warning"))
    assert told(reminder) == [("repeat", ("ops",))]
    assert reminder[0].previous_severity == "critical"


def test_an_escalation_during_a_silence_is_announced_when_it_ends() -> None:
    line = Timeline()
    line.check(1, backup(1, severity="warning"))
    line.silences = [ActiveSilence(1, "*", "*", None, until=morning(3))]
    quiet = line.check(2, backup(2))
    assert told(quiet) == [] and line.alert().severity == "critical"
    assert told(line.check(3, backup(3))) == [("escalated", ("ops",))]


def test_an_episode_that_began_silenced_is_announced_at_its_current_severity() -> None:
    line = Timeline(silences=[ActiveSilence(1, "*", "*", None, until=morning(2))])
    assert states(line.check(1, backup(1, severity="warning"))) == ["new"]
    events = line.check(2, backup(2))
    assert told(events) == [("unsilenced", ("ops",))]
    assert events[0].finding.severity == "critical" and events[0].previous_severity is None
    assert told(line.check(3, backup(3))) == []


def test_a_new_episode_is_new_even_after_an_earlier_one_was_heard() -> None:
    line = Timeline()
    line.check(1, backup(1))
    line.check(2, backup(2, firing=False))
    line.silences = [ActiveSilence(1, "*", "*", None, until=morning(3, 60))]
    assert [(e.state, e.silenced) for e in line.check(3, backup(3))] == [("new", True)]
    assert told(line.check(4, backup(4))) == [("unsilenced", ("ops",))]


def test_a_resolved_alert_keeps_the_severity_it_fired_with() -> None:
    line = Timeline(backup_rule(), restore_rule())
    line.check(1, backup(1, severity="warning"), restore(1))
    resolved = line.check(2, backup(2, firing=False))  # a clear finding says "critical"
    assert [(e.state, e.finding.severity) for e in resolved] == [
        ("resolved", "warning"), ("firing", "critical"),
    ]  # fmt: skip
    assert line.alert().severity == "warning"


def test_alerts_still_firing_without_evidence_are_reported_unless_their_rule_is_gone() -> None:
    line = Timeline(backup_rule(), backup_rule("other"))
    line.check(1, backup(1), backup(1, rule="other", set_id="S2"))
    line.check(2, backup(2))
    events = line.check(3)
    assert [(e.finding.rule, e.state, e.finding.day, e.days_failing) for e in events] == [
        ("backup-failed", "firing", day(2), 2), ("other", "firing", day(1), 1),
    ]  # fmt: skip
    line.rules = rules_of(backup_rule())
    assert [e.finding.rule for e in line.check(4)] == ["backup-failed"]
