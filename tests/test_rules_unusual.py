"""``change_spike`` and ``duration`` on history fixtures: a job against the median of its
set's last jobs, per destination, silent where there is too little to compare with."""

from __future__ import annotations

from cbsalert.rules import ChangeSpikeRule, DurationRule
from tests.history_fixtures import daily, judge, not_run, past, today
from tests.test_rules_history import reasons

SPIKE, DURATION = "change_spike", "duration"
GB = 1024**3


def test_a_job_that_changed_forty_times_the_usual_files_fires_with_the_numbers() -> None:
    history = daily(14, new=100, updated=200)

    found, skipped = judge(SPIKE, [today(new=200, updated=12_100, deleted=100)], history)

    summary = (
        "Backup of 'Documents' changed 12,400 files (12,100 updated, 200 new, 100 deleted); "
        "usually ~300 (median of the last 14 jobs)."
    )
    assert found == [(True, summary, None)]
    assert skipped == []


def test_a_usual_job_is_clear_and_a_small_set_stays_below_the_floor() -> None:
    assert judge(SPIKE, [today(new=310)], daily(14, new=300))[0] == [
        (False, "Backup of 'Documents' changed 310 files; usually ~300.", None)
    ]
    # 50 times a median of 10 files, but fewer than min_files (1,000) files.
    assert [f[0] for f in judge(SPIKE, [today(new=500)], daily(14, new=10))[0]] == [False]
    assert [f[0] for f in judge(SPIKE, [today(new=500)], daily(14, new=10), min_files=100)[0]] == [
        True
    ]


def test_the_size_of_the_changes_can_be_the_measure() -> None:
    history = daily(10, sizes=(GB, GB // 5, 0))
    job = today(new=3, updated=50, deleted=0, sizes=(2 * GB, 46 * GB, 0))

    found, _ = judge(SPIKE, [job], history, measure="size", ratio=5)

    assert found == [(True, "Backup of 'Documents' changed 48 GB (46 GB updated, 2 GB new); "
                      "usually ~1.2 GB (median of the last 10 jobs).", None)]  # fmt: skip
    # Sizes the CBS did not send are unknown: today's job is not judged by its size.
    assert judge(SPIKE, [today()], history, measure="size")[1][0].reason == "unknown_counts"


def test_the_median_is_of_the_last_window_jobs_that_succeeded() -> None:
    # Old huge jobs and failed jobs are not the usual; the last 14 good ones are.
    history = [
        *daily(20, new=50_000, days_from=23), *daily(14, new=300, days_from=9),
        *daily(8, new=0, days_from=1, status="BS_STOP_BY_SYSTEM_ERROR", outcome="failed"),
    ]  # fmt: skip

    found, _ = judge(SPIKE, [today(new=12_000)], history, lookback_days=60)

    assert [f[0] for f in found] == [True] and "usually ~300 (median of the last 14" in found[0][1]


def test_in_its_first_week_a_set_is_not_judged_and_no_alert_is_resolved() -> None:
    for kind in (SPIKE, DURATION):
        found, skipped = judge(kind, [today(new=99_999, minutes=900)], daily(6))
        assert found == []
        assert reasons(skipped) == [("100", None, "not_enough_history", 6)]


def test_a_weekly_set_needs_a_longer_lookback() -> None:
    weekly = [past(7 * n, 300) for n in range(1, 15)]

    found, skipped = judge(SPIKE, [today(new=12_000)], weekly)
    assert found == [] and reasons(skipped) == [("100", None, "not_enough_history", 4)]

    found, _ = judge(SPIKE, [today(new=12_000)], weekly, lookback_days=100)
    assert [f[0] for f in found] == [True]
    assert "(median of the last 14 jobs)" in found[0][1]
    assert ChangeSpikeRule(id="x").history_days() == 28
    assert ChangeSpikeRule(id="x", lookback_days=100).history_days() == 100


def test_missed_and_unchecked_days_do_not_count_as_jobs() -> None:
    history = [*daily(6, new=300, days_from=8), *(not_run(n) for n in range(2, 8)),
               not_run(1, "unchecked")]  # fmt: skip

    found, skipped = judge(SPIKE, [today(new=12_000)], history)

    assert found == [] and reasons(skipped) == [("100", None, "not_enough_history", 6)]


def test_a_destination_added_later_has_a_short_history_of_its_own() -> None:
    history = [*daily(14, new=300, dest="d1"), *daily(2, new=300, dest="d2")]
    jobs = [today(new=12_000, dest="d1"), today(new=12_000, dest="d2")]

    found, skipped = judge(SPIKE, jobs, history)

    assert [(f[0], f[2]) for f in found] == [(True, "d1")]
    assert reasons(skipped) == [("100", "d2", "not_enough_history", 2)]


def test_an_unreadable_count_is_not_judged_unless_another_job_of_the_day_spiked() -> None:
    history = daily(14, new=300)

    found, skipped = judge(SPIKE, [today(new="NaN")], history)
    assert found == [] and reasons(skipped) == [("100", None, "unknown_counts", 14)]

    # The 09:00 job rewrote the share; the 22:00 one was usual: the day fires on the spike.
    jobs = [today(updated=30_000, start="09:00"), today(new="NaN"), today(new=280, start="23:00")]
    found, skipped = judge(SPIKE, jobs, history)
    assert [f[0] for f in found] == [True] and "30,010 files" in found[0][1]
    assert skipped == []


def test_a_job_three_times_slower_and_half_an_hour_longer_fires() -> None:
    history = daily(14, minutes=90)

    found, _ = judge(DURATION, [today(minutes=310)], history)

    assert found == [(True, "Backup of 'Documents' took 5 h 10 min; usually ~1 h 30 min (median "
                      "of the last 14 jobs).", None)]  # fmt: skip
    assert judge(DURATION, [today(minutes=100)], history)[0] == [
        (False, "Backup of 'Documents' took 1 h 40 min; usually ~1 h 30 min.", None)
    ]


def test_a_short_job_five_times_slower_is_not_worth_an_alert() -> None:
    history = daily(14, minutes=2)

    assert [f[0] for f in judge(DURATION, [today(minutes=10)], history)[0]] == [False]
    assert [f[0] for f in judge(DURATION, [today(minutes=10)], history, min_minutes=5)[0]] == [True]


def test_a_job_with_an_unreadable_end_time_is_not_judged_by_its_duration() -> None:
    found, skipped = judge(DURATION, [today(end="2026-11-22 25;61:00")], daily(14, minutes=90))

    assert found == [] and reasons(skipped) == [("100", None, "unknown_duration", 14)]
    assert DurationRule(id="x", window=10).history_days() == 20
