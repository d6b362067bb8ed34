"""The reconcile decisions on plain data, day after day, without any database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cbsalert.model import AlertEvent, Finding
from cbsalert.reconcile import ActiveSilence, AlertChange, AlertSnapshot, reconcile_findings
from cbsalert.rules import RuleBase
from tests.state_helpers import (
    applied,
    backup,
    backup_rule,
    day,
    morning,
    restore,
    restore_rule,
    rules_of,
)


class Timeline:
    """Checks run one after another against the state the previous ones left."""

    def __init__(self, *rules: RuleBase, silences: Iterable[ActiveSilence] = ()) -> None:
        self.rules = rules_of(*(rules or (backup_rule(),)))
        self.silences = list(silences)
        self.stored: dict[str, AlertSnapshot] = {}
        self.changes: list[AlertChange] = []

    def check(
        self,
        n: int,
        *findings: Finding,
        now: datetime | None = None,
        checked: Iterable[str] = ("alice",),
    ) -> list[AlertEvent]:
        events, self.changes = reconcile_findings(
            findings,
            self.stored,
            self.rules,
            self.silences,
            day=day(n),
            now=now or morning(n),
            checked_logins=set(checked),
        )
        self.stored = applied(self.stored, self.changes)
        return events

    def alert(self, finding: Finding | None = None) -> AlertSnapshot:
        return self.stored[(finding or backup(1)).key]


def told(events: list[AlertEvent]) -> list[tuple[str, tuple[str, ...]]]:
    """(state, notifiers) of the events somebody hears about."""
    return [(e.state, e.notify) for e in events if e.notify]


def states(events: list[AlertEvent]) -> list[str]:
    return [e.state for e in events]


def test_set_failing_three_nights_running_is_announced_once() -> None:
    line = Timeline()
    first = line.check(1, backup(1))
    second = line.check(2, backup(2))
    third = line.check(3, backup(3))
    assert told(first) == [("new", ("ops",))]
    assert told(second) == told(third) == []
    assert states(third) == ["firing"]
    assert third[0].days_failing == 3
    assert third[0].since == morning(1)


def test_reminder_once_repeat_interval_has_passed_since_the_last_message() -> None:
    line = Timeline(backup_rule(repeat_interval="3d"))
    line.check(1, backup(1))
    assert told(line.check(2, backup(2))) == []
    assert told(line.check(3, backup(3))) == []
    reminder = line.check(4, backup(4))
    assert told(reminder) == [("repeat", ("ops",))]
    assert reminder[0].days_failing == 4
    assert [t.to_state for c in line.changes for t in c.transitions] == ["repeat"]
    assert told(line.check(5, backup(5))) == []


def test_daily_reminder_is_not_skipped_when_a_run_starts_seconds_earlier() -> None:
    line = Timeline(backup_rule(repeat_interval="24h"))
    line.check(1, backup(1), now=morning(1, seconds=5))
    events = line.check(2, backup(2), now=morning(2, seconds=1))
    assert told(events) == [("repeat", ("ops",))]


def test_resolves_with_a_message_the_day_the_set_succeeds() -> None:
    line = Timeline()
    line.check(1, backup(1))
    line.check(2, backup(2))
    events = line.check(3, backup(3, firing=False))
    assert told(events) == [("resolved", ("ops",))]
    assert line.alert().state == "resolved"
    assert [(t.from_state, t.to_state) for t in line.changes[0].transitions] == [
        ("firing", "resolved")
    ]
    assert line.check(4, backup(4, firing=False)) == []


def test_send_resolved_false_resolves_without_a_message() -> None:
    line = Timeline(backup_rule(send_resolved=False))
    line.check(1, backup(1))
    events = line.check(2, backup(2, firing=False))
    assert states(events) == ["resolved"]
    assert told(events) == []
    assert line.alert().state == "resolved"


def test_day_without_evidence_changes_nothing() -> None:
    line = Timeline()
    line.check(1, backup(1))
    quiet = line.check(2)
    assert states(quiet) == ["firing"] and told(quiet) == []  # reported, with its old day
    assert quiet[0].finding.day == day(1)
    assert line.changes == []
    assert line.alert().state == "firing"


def test_rerun_of_the_same_day_changes_nothing_and_tells_nobody() -> None:
    line = Timeline()
    line.check(1, backup(1))
    again = line.check(1, backup(1), now=morning(1, seconds=600))
    assert states(again) == ["firing"]
    assert told(again) == []
    assert line.changes == []
    line.check(2, backup(2, firing=False))
    assert line.check(2, backup(2, firing=False), now=morning(2, seconds=600)) == []
    assert line.changes == []


def test_backfill_of_an_older_day_neither_resolves_nor_refires() -> None:
    line = Timeline()
    line.check(5, backup(5))
    assert told(line.check(3, backup(3, firing=False), now=morning(5, 60))) == []
    assert line.alert().state == "firing"
    line.check(6, backup(6, firing=False))
    assert told(line.check(4, backup(4), now=morning(6, 60))) == []
    assert line.alert().state == "resolved"
    assert line.changes == []


def test_alert_fires_again_as_a_new_episode_after_resolving() -> None:
    line = Timeline()
    line.check(1, backup(1))
    line.check(2, backup(2, firing=False))
    events = line.check(3, backup(3))
    assert told(events) == [("new", ("ops",))]
    assert events[0].days_failing == 1
    assert line.alert().since == morning(3)


def test_failed_restore_resolves_quietly_after_seven_days_without_a_new_failure() -> None:
    line = Timeline(restore_rule())
    assert told(line.check(1, restore(1))) == [("new", ("ops",))]
    for n in range(2, 8):
        assert states(line.check(n)) == ["firing"]
    events = line.check(8)
    assert states(events) == ["resolved"]
    assert told(events) == []
    assert line.alert(restore(1)).state == "resolved"
    assert "resolved automatically" in events[0].finding.summary


def test_new_restore_failure_restarts_the_auto_resolve_clock() -> None:
    line = Timeline(restore_rule(auto_resolve="3d"))
    line.check(1, restore(1))
    line.check(3, restore(3))
    assert states(line.check(5)) == ["firing"]
    assert states(line.check(6)) == ["resolved"]


def test_failed_restore_resolves_with_a_later_good_restore_of_that_set() -> None:
    line = Timeline(restore_rule())
    line.check(1, restore(1))
    assert told(line.check(2, restore(2, set_id="S2", firing=False))) == []
    assert told(line.check(3, restore(3, firing=False))) == [("resolved", ("ops",))]


def test_restore_alert_of_a_user_not_checked_is_not_auto_resolved() -> None:
    line = Timeline(restore_rule())
    line.check(1, restore(1))
    assert states(line.check(9, checked=())) == ["firing"]
    assert line.alert(restore(1)).state == "firing"


def test_silenced_alert_is_tracked_but_nobody_hears_about_it() -> None:
    silence = ActiveSilence(1, "backup-*", "alice", None, until=morning(10))
    line = Timeline(silences=[silence])
    first = line.check(1, backup(1))
    assert states(first) == ["new"]
    assert first[0].silenced
    assert told(first) == []
    assert line.alert().state == "firing"
    resolved = line.check(2, backup(2, firing=False))
    assert states(resolved) == ["resolved"]
    assert told(resolved) == []


def test_silence_for_one_set_leaves_the_other_sets_loud() -> None:
    silence = ActiveSilence(1, "backup-failed", "al*", "Set S1", until=morning(10))
    line = Timeline(silences=[silence])
    events = line.check(1, backup(1), backup(1, set_id="S2"))
    assert [(e.finding.backup_set_id, e.silenced, bool(e.notify)) for e in events] == [
        ("S1", True, False),
        ("S2", False, True),
    ]


def test_alert_that_started_silenced_is_announced_once_the_silence_ends() -> None:
    line = Timeline(silences=[ActiveSilence(1, "*", "alice", None, until=morning(2))])
    assert states(line.check(1, backup(1))) == ["new"]
    events = line.check(2, backup(2))
    assert told(events) == [("unsilenced", ("ops",))]  # one `new` per episode
    assert events[0].days_failing == 2
    assert told(line.check(3, backup(3))) == []


def test_resolution_of_an_alert_nobody_heard_of_is_not_announced() -> None:
    line = Timeline(silences=[ActiveSilence(1, "*", "*", None, until=morning(1, 60))])
    line.check(1, backup(1))
    events = line.check(2, backup(2, firing=False))
    assert states(events) == ["resolved"]
    assert told(events) == []


def test_expired_silence_does_not_mute() -> None:
    line = Timeline(silences=[ActiveSilence(1, "*", "*", None, until=morning(1))])
    assert told(line.check(1, backup(1))) == [("new", ("ops",))]


def test_findings_and_alerts_of_a_removed_rule_are_left_alone() -> None:
    line = Timeline(backup_rule(), restore_rule())
    line.check(1, backup(1), restore(1))
    line.rules = rules_of(backup_rule("other"))
    assert line.check(9, backup(9, firing=False), restore(9, firing=False)) == []
    assert line.changes == []
    assert {a.state for a in line.stored.values()} == {"firing"}


def test_clear_finding_without_an_alert_stores_nothing() -> None:
    line = Timeline()
    assert line.check(1, backup(1, firing=False)) == []
    assert line.changes == []


def test_two_findings_for_one_alert_on_one_day_count_as_firing() -> None:
    line = Timeline()
    events = line.check(1, backup(1, firing=False), backup(1))
    assert told(events) == [("new", ("ops",))]


def test_repeat_silenced_waits_for_the_silence_to_end() -> None:
    line = Timeline(backup_rule(repeat_interval="1d"))
    line.check(1, backup(1))
    line.silences = [ActiveSilence(1, "*", "*", None, until=morning(3))]
    assert told(line.check(2, backup(2))) == []
    assert told(line.check(3, backup(3))) == [("repeat", ("ops",))]
    assert line.alert().last_notified_at == morning(3)
