"""``no_change`` on history fixtures: a set that "succeeds" while backing up nothing, and
the days that must not be mistaken for it (a first week, a weekly set's days off, missed
days, a new destination, counts that cannot be read, a set that only restored)."""

from __future__ import annotations

from cbsalert.notjudged import NotJudged
from cbsalert.rules import NoChangeRule
from tests.history_fixtures import DAY, daily, judge, not_run, past, snapshot, today
from tests.test_rules import NOW, restore, rule

NO_CHANGE = "no_change"


def reasons(skipped: list[NotJudged]) -> list[tuple[str, str | None, str, int]]:
    return [(s.backup_set_id, s.destination_id, s.reason, s.history) for s in skipped]


def test_a_set_that_normally_changes_fires_after_three_backup_days_without_a_change() -> None:
    history = [*daily(27, new=40, days_from=3), past(2, 0), past(1, 0)]

    found, skipped = judge(NO_CHANGE, [today(0)], history)

    assert found == [(True, "Backup of 'Documents' succeeded but changed no files on its last 3 "
                      "backup days (since 2026-11-20); files changed on 27 of its 27 backup days "
                      "before.", None)]  # fmt: skip
    assert skipped == []


def test_two_days_without_a_change_are_not_yet_three() -> None:
    history = [*daily(27, new=40, days_from=2), past(1, 0)]

    found, _ = judge(NO_CHANGE, [today(0)], history)

    assert found == [
        (False, "Backup of 'Documents' changed no files (2 backup days in a row; limit 3).", None)
    ]


def test_a_day_with_changes_is_clear_even_without_history() -> None:
    found, skipped = judge(NO_CHANGE, [today(new=0, updated=5, deleted=2)], [])

    assert found == [(False, "Backup of 'Documents' changed 7 files.", None)]
    assert skipped == []


def test_a_set_that_seldom_changes_is_left_alone() -> None:
    history = [past(n, 40 if n in (10, 20) else 0) for n in range(1, 28)]

    found, _ = judge(NO_CHANGE, [today(0)], history)

    assert found == [(False, "Backup of 'Documents' changed no files on its last 10 backup days "
                      "(since 2026-11-13), as usual: files changed on 2 of its 18 backup days "
                      "before.", None)]  # fmt: skip


def test_in_its_first_week_a_set_is_not_judged_and_no_alert_is_resolved() -> None:
    found, skipped = judge(NO_CHANGE, [today(0)], daily(4, new=40))

    assert found == []  # no clear finding either: an alert firing stays firing
    assert reasons(skipped) == [("100", None, "not_enough_history", 4)]
    assert skipped[0].needed == 7 and skipped[0].rule == "r" and skipped[0].day == DAY


def test_a_weekly_sets_days_off_are_not_days_without_a_change() -> None:
    # Runs on Sundays only: 12 weeks of changes, then last Sunday changed nothing; the six
    # days between are no backup days, so today is only the second in a row.
    weekly = [past(7 * n, 40) for n in range(2, 14)] + [past(7, 0)]

    found, _ = judge(NO_CHANGE, [today(0)], weekly, window=91)
    assert found == [
        (False, "Backup of 'Documents' changed no files (2 backup days in a row; limit 3).", None)
    ]

    # Three Sundays without a change in a row fire; a 30-day window holds too few Sundays.
    weekly[0] = past(14, 0)
    found, _ = judge(NO_CHANGE, [today(0)], weekly, window=91)
    assert [f[0] for f in found] == [True] and "since 2026-11-08" in found[0][1]
    found, skipped = judge(NO_CHANGE, [today(0)], weekly)
    assert found == [] and reasons(skipped) == [("100", None, "not_enough_history", 2)]


def test_missed_unchecked_and_failed_days_are_skipped_not_counted_as_no_change() -> None:
    history = [
        *daily(20, new=40, days_from=8), past(7, 0), not_run(6), not_run(5, "unchecked"),
        past(4, 0, status="BS_STOP_BY_SYSTEM_ERROR", outcome="failed"), past(3, 0),
        past(2, status="", outcome="running"),
    ]  # fmt: skip

    found, _ = judge(NO_CHANGE, [today(0)], history)

    # Today, day 3 and day 7 are the last three backup days; nothing between them counted.
    assert [f[0] for f in found] == [True]
    assert "its last 3 backup days (since 2026-11-15)" in found[0][1]
    assert "on 20 of its 20 backup days before" in found[0][1]


def test_a_destination_added_later_has_a_short_history_of_its_own() -> None:
    history = [*daily(27, new=40, days_from=3, dest="d1"), past(2, 0, dest="d1"),
               past(1, 0, dest="d1"), past(2, 0, dest="d2"), past(1, 0, dest="d2")]  # fmt: skip

    found, skipped = judge(NO_CHANGE, [today(0, dest="d1"), today(0, dest="d2")], history)

    assert [(f[0], f[2]) for f in found] == [(True, "d1")]
    assert reasons(skipped) == [("100", "d2", "not_enough_history", 0)]


def test_a_count_that_cannot_be_read_is_never_taken_for_zero() -> None:
    history = [*daily(27, new=40, days_from=3), past(2, 0), past(1, 0)]

    for unreadable in (None, "NaN", "-1"):
        found, skipped = judge(NO_CHANGE, [today(new=unreadable)], history)
        assert found == []
        assert reasons(skipped) == [("100", None, "unknown_counts", 27)]

    # An unreadable day in the history ends the run of days without a change: not judged.
    history[-2] = past(2, None)
    found, skipped = judge(NO_CHANGE, [today(0)], history)
    assert found == [] and reasons(skipped) == [("100", None, "unknown_counts", 27)]


def test_a_failed_job_or_a_set_that_only_restored_is_no_backup_day() -> None:
    history = [*daily(27, new=40, days_from=3), past(2, 0), past(1, 0)]

    assert judge(NO_CHANGE, [today(0, status="BS_STOP_BY_SYSTEM_ERROR")], history) == ([], [])
    restored = snapshot([], history, restores=[restore()])
    assert rule(kind=NO_CHANGE).assess(restored, NOW) == ([], [])


def test_a_run_of_days_that_fills_the_window_leaves_the_alert_as_it_is() -> None:
    found, skipped = judge(NO_CHANGE, [today(0)], [*daily(29, new=0), past(30, 40)])

    assert found == []
    assert reasons(skipped) == [("100", None, "not_enough_history", 1)]


def test_history_older_than_the_window_is_ignored() -> None:
    # The store loads the most days any rule wants: this rule reads its own window only.
    history = [past(n, 40) for n in range(31, 60)] + [past(2, 0), past(1, 0)]

    found, skipped = judge(NO_CHANGE, [today(0)], history)

    assert found == [] and reasons(skipped) == [("100", None, "not_enough_history", 0)]
    assert NoChangeRule(id="x").history_days() == 30
