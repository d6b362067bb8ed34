"""Catch-up on plain data: which days a run checks, how far each user is then checked, how
several days are told, and what several days of evidence do to the alerts."""

from __future__ import annotations

from datetime import date, timedelta

from cbsalert.catchup import DayEvidence, DayPlan, advance, plan_days, reconcile_days
from cbsalert.labels import days_phrase
from cbsalert.model import AlertEvent, Finding
from cbsalert.reconcile import reconcile_findings
from cbsalert.rules import CbsUnreachableRule
from tests.state_helpers import backup, backup_rule, day, morning, rules_of

Y = date(2026, 11, 22)  # yesterday, the run's day
RULES = rules_of(backup_rule(repeat_interval="24h"))


def ago(n: int) -> date:
    return Y - timedelta(days=n)


# -- plan_days --------------------------------------------------------------------------------


def test_a_user_without_a_record_or_checked_through_the_day_before_is_checked_for_yesterday() -> (
    None
):
    plan = plan_days(Y, ["new", "current", "again"], {"current": ago(1), "again": Y}, 3)
    assert plan == DayPlan([Y], {Y: ["new", "current", "again"]}, [])


def test_each_user_is_checked_for_its_own_missed_days_oldest_first_in_watch_order() -> None:
    plan = plan_days(Y, ["alice", "bob", "carol"], {"alice": ago(3), "bob": ago(2)}, 3)
    assert plan.days == [ago(2), ago(1), Y]
    assert plan.due == {ago(2): ["alice"], ago(1): ["alice", "bob"], Y: ["alice", "bob", "carol"]}
    assert plan.caught_up == [ago(2), ago(1)] and plan.not_checked == []


def test_missed_days_older_than_the_limit_are_given_up_and_named() -> None:
    plan = plan_days(Y, ["alice", "bob"], {"alice": ago(10), "bob": ago(5)}, 3)
    assert plan.days == [ago(3), ago(2), ago(1), Y]
    assert plan.due[ago(3)] == ["alice", "bob"]
    assert plan.not_checked == [ago(n) for n in range(9, 3, -1)]


def test_limit_0_checks_yesterday_only_but_names_the_days_missed() -> None:
    plan = plan_days(Y, ["alice"], {"alice": ago(3)}, 0)
    assert plan == DayPlan([Y], {Y: ["alice"]}, [ago(2), ago(1)])


def test_a_given_day_is_checked_exactly_whatever_was_missed() -> None:
    assert plan_days(ago(5), ["alice"], {"alice": ago(20)}, None) == DayPlan(
        [ago(5)], {ago(5): ["alice"]}, []
    )


# -- advance ----------------------------------------------------------------------------------


def test_every_day_checked_moves_the_record_to_yesterday_and_starts_new_ones() -> None:
    plan = plan_days(Y, ["alice", "new"], {"alice": ago(3)}, 3)
    checked = {d: {"alice", "new"} for d in plan.days}
    assert advance({"alice": ago(3)}, plan, checked, catch_up=True) == {"alice": Y, "new": Y}


def test_a_day_a_user_could_not_be_checked_holds_its_record_before_that_day() -> None:
    plan = plan_days(Y, ["alice", "bob"], {"alice": ago(3), "bob": ago(3)}, 3)
    checked = {ago(2): {"alice", "bob"}, ago(1): {"bob"}, Y: {"alice", "bob"}}
    assert advance({"alice": ago(3), "bob": ago(3)}, plan, checked, catch_up=True) == {
        "alice": ago(2),
        "bob": Y,
    }


def test_days_the_cbs_could_not_be_used_move_nobody_past_them() -> None:
    plan = plan_days(Y, ["alice", "new"], {"alice": ago(3)}, 3)
    checked = {ago(2): {"alice"}}  # the CBS failed on the next day: no later day fetched
    assert advance({"alice": ago(3)}, plan, checked, catch_up=True) == {"alice": ago(2)}


def test_days_given_up_do_not_hold_a_record_back() -> None:
    plan = plan_days(Y, ["alice"], {"alice": ago(10)}, 1)
    checked = {ago(1): {"alice"}, Y: {"alice"}}
    assert advance({"alice": ago(10)}, plan, checked, catch_up=True) == {"alice": Y}


def test_a_given_day_moves_a_record_only_when_it_is_the_next_day() -> None:
    def after(day_: date, through: dict[str, date]) -> dict[str, date]:
        plan = plan_days(day_, ["alice"], through, None)
        return advance(through, plan, {day_: {"alice"}}, catch_up=False)

    assert after(ago(2), {"alice": ago(3)}) == {"alice": ago(2)}
    assert after(ago(1), {"alice": ago(3)}) == {}  # ago(2) is still unchecked
    assert after(ago(5), {"alice": ago(3)}) == {}  # older: nothing moves back
    assert after(ago(1), {}) == {}  # no record is started by hand


# -- days_phrase ------------------------------------------------------------------------------


def test_days_are_named_as_a_person_would() -> None:
    assert days_phrase([Y]) == "2026-11-22"
    assert days_phrase([ago(1), Y]) == "2026-11-21 and 2026-11-22"
    assert days_phrase([str(ago(2)), str(ago(1)), str(Y)]) == "2026-11-20 to 2026-11-22"
    assert days_phrase([ago(9), ago(5), ago(4), ago(3), Y]) == (
        "2026-11-13, 2026-11-17 to 2026-11-19 and 2026-11-22"
    )
    assert days_phrase([]) == ""


# -- reconcile_days ---------------------------------------------------------------------------


def evidence(n: int, *findings: Finding) -> DayEvidence:
    return DayEvidence(day(n), findings, {"alice"})


def told(events: list[AlertEvent]) -> list[tuple[str, str]]:
    return [(e.state, str(e.finding.day)) for e in events]


def test_a_failure_of_a_missed_day_fixed_the_next_is_told_both_with_their_days() -> None:
    events, changes = reconcile_days(
        [evidence(2, backup(2, firing=False)), evidence(1, backup(1))], {}, RULES, [],
        now=morning(2),
    )  # fmt: skip
    assert told(events) == [("new", str(day(1))), ("resolved", str(day(2)))]
    [change] = changes
    assert change.after.state == "resolved" and change.after.id is None
    assert change.after.since_day == day(1) and change.after.last_day == day(2)
    assert [(t.day, t.to_state) for t in change.transitions] == [
        (day(1), "firing"),
        (day(2), "resolved"),
    ]


def test_an_alert_still_failing_is_new_on_its_first_day_and_firing_with_its_latest() -> None:
    events, [change] = reconcile_days(
        [evidence(1, backup(1)), evidence(2, backup(2)), evidence(3, backup(3))], {}, RULES, [],
        now=morning(3),
    )  # fmt: skip
    assert told(events) == [("new", str(day(1))), ("firing", str(day(3)))]
    assert events[-1].days_failing == 3
    # Told once, at this run: a reminder is not due on the later days of the same run.
    assert [t.to_state for t in change.transitions] == ["firing"]


def test_an_alert_without_later_evidence_is_not_listed_again_after_its_change() -> None:
    events, _ = reconcile_days([evidence(1, backup(1)), evidence(2)], {}, RULES, [], now=morning(2))
    assert told(events) == [("new", str(day(1)))]


def test_one_day_is_exactly_what_reconcile_findings_says() -> None:
    findings = [backup(1), backup(1, login="bob", set_id="S2", firing=False)]
    alone = reconcile_findings(findings, {}, RULES, [], day=day(1), now=morning(1),
                               checked_logins={"alice"})  # fmt: skip
    assert reconcile_days([evidence(1, *findings)], {}, RULES, [], now=morning(1)) == alone


# -- what the meta-alert says about the days --------------------------------------------------


def test_the_meta_alert_names_the_days_an_outage_cost() -> None:
    meta = CbsUnreachableRule(id="meta", notify=[])
    server = "cbs.example.com"
    back = meta.run_finding(Y, None, server, caught_up=[ago(2), ago(1)], not_checked=[ago(5),
                            ago(4), ago(3)], limit=2)  # fmt: skip
    assert back.summary == (
        "cbsalert can check the backups on CBS cbs.example.com again. The backups of "
        "2026-11-20 and 2026-11-21, not checked before, are checked now. The backups of "
        "2026-11-17 to 2026-11-19 were not checked (catch_up_days: 2); cbsalert check --date "
        "DAY checks one by hand."
    )
    assert meta.run_finding(Y, None, server).summary.endswith("on CBS cbs.example.com again.")
    down = meta.run_finding(Y, "HTTP 503", server, checked=[ago(1)])
    assert down.summary.endswith(": HTTP 503. Only the backups of 2026-11-21 were checked.")
    assert meta.run_finding(Y, "HTTP 503", server).summary.endswith("No backup was checked.")
