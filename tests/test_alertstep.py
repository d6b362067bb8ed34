"""One finding against its stored alert (``alertstep.next_step``), on plain data: the state
it moves to, what people hear, and the transition rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cbsalert.alertstep import REPEAT_SLACK, next_step
from cbsalert.model import Finding
from cbsalert.stored import AlertSnapshot
from tests.state_helpers import backup, backup_rule, day, morning

RULE = backup_rule(repeat_interval="24h")


def fired(finding: Finding, **changes: object) -> AlertSnapshot:
    """The alert as stored after ``finding`` was announced the morning after its day."""
    step = next_step(finding, None, RULE, False, morning(1))
    assert step.after is not None
    return replace(step.after, **changes)  # type: ignore[arg-type]


def test_a_first_failure_is_new_and_told_with_one_transition() -> None:
    step = next_step(backup(1), None, RULE, False, morning(1))
    assert step.event is not None and (step.event.state, step.event.notify) == ("new", ("ops",))
    assert step.after is not None and step.after.last_notified_at == morning(1)
    assert [(t.from_state, t.to_state) for t in step.transitions] == [(None, "firing")]


def test_a_silenced_first_failure_is_new_but_nobody_is_told() -> None:
    step = next_step(backup(1), None, RULE, True, morning(1))
    assert step.event is not None and (step.event.state, step.event.notify) == ("new", ())
    assert step.after is not None and step.after.last_notified_at is None


def test_a_reminder_is_due_up_to_the_slack_before_the_interval() -> None:
    snap = fired(backup(1))
    early = morning(1) + timedelta(hours=24) - REPEAT_SLACK - timedelta(seconds=1)
    on_time = morning(1) + timedelta(hours=24) - REPEAT_SLACK
    quiet = next_step(backup(2), snap, RULE, False, early)
    due = next_step(backup(2), snap, RULE, False, on_time)
    assert quiet.event is not None and quiet.event.state == "firing"
    assert due.event is not None and due.event.state == "repeat"
    assert [t.to_state for t in due.transitions] == ["repeat"]


def test_firing_above_the_severity_people_heard_escalates() -> None:
    snap = fired(backup(1, severity="warning"))
    step = next_step(backup(2), snap, RULE, False, morning(2))
    assert step.event is not None
    assert (step.event.state, step.event.previous_severity) == ("escalated", "warning")
    assert [t.to_state for t in step.transitions] == ["escalated"]


def test_an_episode_that_began_silenced_is_unsilenced_when_first_told() -> None:
    snap = fired(backup(1), last_notified_at=None)
    step = next_step(backup(2), snap, RULE, False, morning(2))
    assert step.event is not None and step.event.state == "unsilenced"


def test_clear_evidence_resolves_and_tells_only_who_heard_it_fire() -> None:
    snap = fired(backup(1))
    step = next_step(backup(2, firing=False), snap, RULE, False, morning(2))
    assert step.event is not None and (step.event.state, step.event.notify) == (
        "resolved",
        ("ops",),
    )
    assert step.after is not None and step.after.state == "resolved"
    unheard = next_step(backup(2, firing=False), replace(snap, last_notified_at=None), RULE,
                        False, morning(2))  # fmt: skip
    assert unheard.event is not None and unheard.event.notify == ()


def test_a_rerun_of_the_same_day_changes_nothing_and_reports_it_as_stored() -> None:
    snap = fired(backup(1))
    step = next_step(backup(1, firing=False), snap, RULE, False, morning(1, 60))
    assert step.after is None and step.transitions == ()
    assert step.event is not None and (step.event.state, step.event.finding.firing) == (
        "firing", True,
    )  # fmt: skip
    assert step.event.finding.day == day(1)


def test_older_good_news_reported_as_still_firing_keeps_this_runs_destination_name() -> None:
    # The store keeps no destination name: the stored alert's finding would show the id.
    snap = fired(backup(2))
    older = replace(backup(1, firing=False), destination_name="Offsite S3")
    step = next_step(older, snap, RULE, False, morning(3))
    assert step.event is not None and step.event.state == "firing"
    assert step.event.finding.destination_name == "Offsite S3"
