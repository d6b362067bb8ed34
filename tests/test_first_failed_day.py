"""The first backup day that failed (issue 17.1), in the state store on SQLite and
PostgreSQL (``CBSALERT_TEST_PG_URL``): kept through an episode, a new one for a new
episode, the day of the evidence (a day caught up, a carried job's own day) and never the
run's, and what people and ``cbsalert alerts`` read of it."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from cbsalert.catchup import DayEvidence
from cbsalert.model import AlertEvent
from cbsalert.state import StateStore
from cbsalert.state.engine import writer
from cbsalert.state.schema import upgrade
from cbsalert.terminal import stored_alerts_table
from tests.state_helpers import RULES as RULES
from tests.state_helpers import backup, check, claim, day, morning, plan
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture
from tests.state_helpers import store as store


def told(events: list[AlertEvent]) -> list[tuple[str, object, object]]:
    return [(e.state, e.first_failed_day, e.days_failing) for e in events]


def listed(store: StateStore) -> tuple[object, object]:
    [row] = store.list_alerts(include_resolved=True)
    return row["first_failed_day"], row["days_failing"]


def test_an_episode_keeps_its_first_day_and_a_new_episode_starts_its_own(
    store: StateStore,
) -> None:
    assert told(check(store, 1, backup(1))) == [("new", day(1), 1)]
    check(store, 2, backup(2))
    assert told(check(store, 3, backup(3))) == [("firing", day(1), 3)]
    assert listed(store) == (day(1).isoformat(), 3)
    # Resolved: how long it was failing, from its first day to its last failing one.
    assert told(check(store, 4, backup(4, firing=False))) == [("resolved", day(1), 3)]
    assert listed(store) == (day(1).isoformat(), 3)
    assert told(check(store, 6, backup(6))) == [("new", day(6), 1)]
    assert listed(store) == (day(6).isoformat(), 1)


def test_the_message_says_since_the_first_day_not_since_the_check(store: StateStore) -> None:
    check(store, 1, backup(1))
    claim(store, morning(1))  # the "new" message, out of the way
    check(store, 2, backup(2))
    # A late check: the third day is judged two days after it.
    check(store, 3, backup(3), now=morning(3) + timedelta(days=2))
    check(store, 4, backup(4, firing=False))
    [resolved] = [
        d for d in claim(store, morning(4)) if d.context["alerts"][0]["state"] == "resolved"
    ]
    [alert] = resolved.context["alerts"]
    assert (alert["first_failed_day"], alert["days_failing"]) == ("2026-11-20", 3)


def test_days_caught_up_in_one_run_date_the_alert_by_the_first_that_failed(
    store: StateStore,
) -> None:
    days = [DayEvidence(day(n), [backup(n)], {"alice"}) for n in (2, 3, 4)]
    events = store.reconcile_days(days, RULES, now=morning(4), plan=plan)
    assert told(events) == [("new", day(2), 1), ("firing", day(2), 3)]
    assert listed(store) == (day(2).isoformat(), 3)
    [row] = store.list_alerts(include_resolved=False)
    assert row["since"].startswith(morning(4).date().isoformat())  # noticed by this run


def test_a_carried_job_dates_the_alert_by_its_own_day_not_the_run(store: StateStore) -> None:
    # Day 1's job was still running at day 1's check; day 2's run judges it, failed.
    late = backup(1, carried=True)
    run = DayEvidence(day(2), [late, backup(2)], {"alice"})
    events = store.reconcile_days([run], RULES, now=morning(2), plan=plan)
    assert told(events)[0] == ("new", day(1), 1)
    assert listed(store) == (day(1).isoformat(), 2)


def test_an_alert_stored_before_the_upgrade_is_dated_by_its_first_failing_day(
    db_url: str,
) -> None:
    """A firing row written by cbsalert 0006 (whose messages showed the check's time): the
    first failed day is the day of its first evidence it always stored (``since_day``)."""
    store = StateStore(db_url)
    try:
        upgrade(store.engine, "0006_checked_days")
        with writer(store.engine).begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO alerts (key, rule, kind, severity, login, owner, state, since,"
                " since_day, last_day, last_fired_day, last_notified_at, summary) VALUES"
                f" ('{backup(1).key}', 'backup-failed', 'backup_status', 'critical', 'alice',"
                " '', 'firing', '2026-11-23 07:00:00', '2026-11-20', '2026-11-22',"
                " '2026-11-22', '2026-11-23 07:00:00', 'failed')"
            )
        store.upgrade()
        assert told(check(store, 4, backup(4))) == [("firing", day(1), 4)]
        assert listed(store) == (day(1).isoformat(), 4)
    finally:
        store.close()


def test_cbsalert_alerts_says_since_which_backup_day_and_when_it_was_noticed(
    store: StateStore,
) -> None:
    for n in (1, 2, 3):
        check(store, n, backup(n))
    console = Console(width=200, record=True)
    console.print(stored_alerts_table(store.list_alerts(False), "Firing alerts", "UTC"))
    text = console.export_text()
    assert "failing since Fri 20 Nov, 3 days" in text
    assert "noticed 2026-11-21 07:00 UTC" in text
