"""Reconcile on plain data: the verdict on a job carried over from its day's check
(issue 15.2). The simulator-level stories are in test_carryover.py."""

from __future__ import annotations

from tests.state_helpers import backup
from tests.test_reconcile import Timeline, told


def test_a_carried_verdict_about_the_day_already_stored_decides_that_day() -> None:
    line = Timeline()
    line.check(1, backup(1))  # the first try of day 1 failed
    rerun = backup(1, firing=False, carried=True)  # the rerun, still running then, succeeded
    assert told(line.check(2, rerun)) == [("resolved", ("ops",))]
    assert line.alert().state == "resolved" and line.alert().last_day == backup(1).day


def test_the_same_verdict_without_the_carried_mark_is_a_rerun_that_changes_nothing() -> None:
    line = Timeline()
    line.check(1, backup(1))
    [event] = line.check(1, backup(1, firing=False))
    assert (event.state, event.finding.firing, event.notify) == ("firing", True, ())
    assert line.alert().state == "firing"


def test_a_carried_verdict_older_than_the_stored_evidence_changes_nothing() -> None:
    line = Timeline()
    line.check(2, backup(2))
    # Still reported as what is firing (a run reports every firing alert), told to nobody.
    [event] = line.check(3, backup(1, firing=False, carried=True))
    assert (event.state, event.finding.firing, event.finding.day) == ("firing", True, backup(2).day)
    assert told([event]) == [] and line.alert().state == "firing"


def test_a_carried_failure_and_the_next_day_s_success_are_both_told_in_one_run() -> None:
    line = Timeline()
    events = line.check(2, backup(2, firing=False), backup(1, carried=True))
    assert [(e.state, e.finding.day) for e in events] == [
        ("new", backup(1).day), ("resolved", backup(2).day),
    ]  # fmt: skip
