"""Job history in the state database (issue 18.1), on a SQLite file always and on PostgreSQL
when CBSALERT_TEST_PG_URL is set: what a check writes, what a later check reads back, what a
later verdict or a second check of a day changes, pruning, hostile text, and that no query
of it scans the whole table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from cbsalert.grid.model import RANKED
from cbsalert.grid.model import set_days as grid_set_days
from cbsalert.historyrows import Verdicts, snapshot_rows
from cbsalert.jobhistory import HistoryJob, Outcome, SetDays
from cbsalert.state import StateStore
from cbsalert.state.storage import CHUNK
from tests.state_helpers import counts, day, morning
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture
from tests.test_state_hostile import DEST, LONG_ID, NAME, hostile_snapshot

BIG = 2**63 - 1


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    store = StateStore(db_url, clock=lambda: morning(30))
    store.upgrade()
    yield store
    store.close()


def job(n: int, outcome: Outcome = "ok", *, login: str = "alice", set_id: str = "S1",
        dest: str | None = "D1", hour: int = 22, **fields: Any) -> HistoryJob:  # fmt: skip
    """A job of ``set_id`` on day n, started at ``hour``, taking 30 minutes."""
    start = datetime.combine(day(n), datetime.min.time(), UTC) + timedelta(hours=hour)
    values: dict[str, Any] = {
        "login": login, "backup_set_id": set_id, "destination_id": dest, "day": day(n),
        "outcome": outcome, "job_id": start.strftime("%Y-%m-%d-%H-%M-%S"), "mode": "S",
        "status": "BS_STOP_SUCCESS" if outcome == "ok" else "BS_STOP_BY_SYSTEM_ERROR",
        "start_time": start, "end_time": start + timedelta(minutes=30), "errors": 0,
        "warnings": 0, "new_files": 3, "updated_files": 40, "deleted_files": 1, "new_size": 10,
        "updated_size": 4000, "deleted_size": 5, "owner": "Acme", "backup_set_name": "Docs",
    }  # fmt: skip
    return HistoryJob(**{**values, **fields})


def about(n: int, outcome: Outcome, login: str = "alice", set_id: str = "") -> HistoryJob:
    """A row without a job: a set that did not run, a user not checked."""
    return HistoryJob(login, set_id, None, day(n), outcome, owner="Acme")


def stored(store: StateStore) -> list[HistoryJob]:
    return store.job_history.between(day(-400), day(400))


def test_a_check_s_rows_are_read_back_per_set_and_destination_oldest_first(
    store: StateStore,
) -> None:
    rows = [job(2), job(1, "failed"), job(1, hour=23), job(2, dest="D2"), job(3),
            about(2, "missed", set_id="S2"), job(1, login="bob")]  # fmt: skip
    assert store.job_history.record(rows) == len(rows)

    window = store.job_history.window(["alice", "bob", "carol"], before=day(3), days=2)

    assert set(window) == {"alice", "bob", "carol"} and window["carol"] == {}
    alice = window["alice"]
    assert alice[("S1", "D1")] == [job(1, "failed"), job(1, hour=23), job(2)]  # not day 3
    assert alice[("S1", "D2")] == [job(2, dest="D2")]
    assert alice[("S2", None)] == [about(2, "missed", set_id="S2")]
    assert window["bob"] == {("S1", "D1"): [job(1, login="bob")]}
    # ``days`` bounds the window; the checked day itself is never in it.
    assert store.job_history.window(["alice"], before=day(3), days=1)["alice"][("S1", "D1")] == [
        job(2)
    ]
    assert store.job_history.window(["alice"], before=day(3), days=0) == {"alice": {}}


def test_every_field_survives_the_database_unknown_counts_stay_unknown(store: StateStore) -> None:
    full = job(1, new_files=BIG, new_size=BIG, moved_files=2, moved_size=7,
               dedupe_original_size=BIG, errors=None, warnings=None)  # fmt: skip
    store.job_history.record([full])
    [back] = stored(store)
    assert back == full
    assert (back.errors, back.warnings, back.duration_s) == (None, None, 1800.0)
    with store.engine.connect() as connection:
        row = connection.execute(text("SELECT duration_s, recorded_at FROM job_history")).one()
    assert row.duration_s == 1800


def test_checking_a_day_again_replaces_its_rows_and_a_failure_hides_nothing(
    store: StateStore,
) -> None:
    history = store.job_history
    history.record([job(1, "running"), job(1, dest="D2"), job(2)])
    history.record([job(1, "failed")])  # day 1 checked again: its rows are the latest check's
    assert stored(store) == [job(1, "failed"), job(2)]

    history.record([about(1, "unchecked"), about(3, "unchecked")])
    assert stored(store) == [about(3, "unchecked"), job(1, "failed"), job(2)]
    history.record([job(3)])  # the day could be checked after all
    assert stored(store) == [job(1, "failed"), job(2), job(3)]
    assert counts(store)["job_history"] == 3


def test_a_later_verdict_replaces_the_row_of_the_job_that_was_running(store: StateStore) -> None:
    history = store.job_history
    running = job(1, "running", status="", end_time=None, dest=None)
    history.record([running, job(1, set_id="S2")])

    done = replace(running, outcome="failed", status="BS_STOP_BY_SYSTEM_ERROR",
                   end_time=running.start_time + timedelta(hours=9))  # fmt: skip
    assert history.judged([done, job(0, "ok")]) == 2  # day 0 was not kept: added

    assert stored(store) == [done, job(0), job(1, set_id="S2")]  # by set, destination, day


def test_days_recorded_are_the_days_seen_not_the_days_a_user_failed(store: StateStore) -> None:
    store.job_history.record([job(1), job(2), about(3, "missed"), about(4, "unchecked"),
                              job(5), job(2, login="bob")])  # fmt: skip
    recorded = store.job_history.days_recorded(["alice", "bob", "carol"], day(2), day(4))
    assert recorded == {"alice": {day(2), day(3)}, "bob": {day(2)}}


def test_history_is_pruned_after_history_days_with_the_alerts(store: StateStore) -> None:
    store.job_history.record([job(1), job(2), job(3)])
    now = morning(3)
    store.prune(retention_days=1, now=now)  # without history_days: history is kept
    assert len(stored(store)) == 3
    store.prune(retention_days=1, now=now, history_days=2)
    assert [j.day for j in stored(store)] == [day(2), day(3)]


def test_more_users_than_one_chunk_are_written_and_read_in_bulk(store: StateStore) -> None:
    users = [f"user{i:05d}" for i in range(CHUNK * 2 + 37)]
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    store.job_history.record(job(1, login=u, set_id=s) for u in users for s in ("S1", "S2"))
    window = store.job_history.window(users, before=day(2), days=5)
    assert all(len(window[u]) == 2 for u in users)
    assert len(store.job_history.days_recorded(users, day(1), day(1))) == len(users)
    # A few statements per chunk of users, never one per user.
    assert len([s for s in statements if "job_history" in s]) <= 3 * 3 + 3 + 3


def test_hostile_names_and_ids_from_the_cbs_are_stored_and_read_back(store: StateStore) -> None:
    snapshot = hostile_snapshot()
    rows = snapshot_rows(snapshot, Verdicts.of([]))
    store.job_history.record(rows)
    back = stored(store)
    assert sorted(back, key=repr) == sorted(rows, key=repr)
    assert len({(j.backup_set_id, j.destination_id) for j in back}) == 3  # 2 failed, 1 missed
    for row in back:
        for value in (row.backup_set_id, row.destination_id or "", row.job_id or ""):
            assert len(value) <= 255 and "\x00" not in value
        name = row.backup_set_name or ""
        assert len(name) <= 500 and "\x00" not in name


def test_a_row_built_from_raw_text_is_cleaned_not_refused(store: StateStore) -> None:
    raw = job(1, set_id=LONG_ID, dest=DEST, job_id="j\x00" * 200, backup_set_name=NAME,
              status="BS\x00" * 300, mode="S\x1b")  # fmt: skip
    store.job_history.record([raw])
    [back] = stored(store)
    assert len(back.backup_set_id) <= 255 and "\x00" not in (back.job_id or "")
    assert back.status is not None and len(back.status) <= 500 and "\x00" not in back.status
    # The same raw job's later verdict finds its row.
    store.job_history.judged([replace(raw, outcome="failed")])
    assert [j.outcome for j in stored(store)] == ["failed"]


def test_the_database_ranks_each_set_s_days_as_the_grid_does_in_python(
    store: StateStore,
) -> None:
    """``set_days`` (a GROUP BY the report runs over 280,000 rows) against the grid's own
    reduction of the same rows (``grid.model.set_days``): the worst of a day's jobs and
    destinations, no row as None, an outcome outside the order ranked after it, the latest
    day's owner and set name, one owner or one login asked for."""
    rows = [
        job(1), job(1, "failed", dest="D2"), job(2, "warning"), about(3, "missed", set_id="S1"),
        job(4, owner="Acme Old", backup_set_name="Docs old"), job(5, backup_set_name=""),
        about(2, "not_due", set_id="S2"), job(3, set_id="S2", backup_set_name="Weekly"),
        about(2, "unchecked", login="bob"), job(4, login="bob", owner="Other"),
        job(6, login="carol", backup_set_name="<b>Files"),
    ]  # fmt: skip
    store.job_history.record(rows)
    days = [day(n) for n in range(1, 7)]

    def both(**narrow: str) -> tuple[set[SetDays], set[SetDays]]:
        db = store.job_history.set_days(day(1), day(6), RANKED, **narrow)
        kept = [r for r in rows if all(getattr(r, k) == v for k, v in narrow.items())]
        return set(db), set(grid_set_days(kept, days))

    stored_sets, pure = both()
    assert stored_sets == pure
    alice = {s.backup_set_id: s for s in stored_sets if s.login == "alice"}
    names = {r: RANKED[r] if r is not None and r < len(RANKED) else r for r in range(7)}
    assert [names.get(r) if r is not None else None for r in alice["S1"].ranks] == [
        "failed", "warning", "missed", "ok", "ok", None,
    ]  # fmt: skip
    assert alice["S2"].ranks[1] == len(RANKED)  # not_due: a row, no verdict
    # Day 5 names the owner "Acme" but no set: the latest set name is day 4's.
    assert alice["S1"].owner == "Acme" and alice["S1"].backup_set_name == "Docs old"
    for narrow in ({"owner": "Other"}, {"login": "bob"}, {"login": "nobody"}):
        assert both(**narrow)[0] == both(**narrow)[1]
    assert {s.login for s in both(owner="Other")[0]} == {"bob"}


def test_no_query_of_the_history_scans_the_whole_table(tmp_path: Any) -> None:
    """SQLite's plan for each statement the part runs: an index search, never a SCAN."""
    store = StateStore(f"sqlite:///{tmp_path / 'plan.db'}", clock=lambda: morning(30))
    store.upgrade()
    history = store.job_history
    history.record(job(n, login=f"u{i}") for n in range(1, 30) for i in range(50))
    with store.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "job_history" in statement and not statement.startswith("INSERT"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    history.window(["u1", "u2"], before=day(20), days=14)
    history.days_recorded(["u1"], day(1), day(7))
    history.between(day(10), day(16))
    history.set_days(day(10), day(16), RANKED)
    history.set_days(day(10), day(16), RANKED, owner="Acme")
    history.set_days(day(10), day(16), RANKED, login="u1")
    history.record([job(3, login="u1"), about(4, "unchecked", login="u2")])
    history.judged([job(5, login="u3")])
    history.prune(day(2))
    event.remove(store.engine, "before_cursor_execute", seen)
    assert len(statements) == 10
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            detail = " ".join(row[-1] for row in plan)
            assert re.search(r"USING (COVERING )?INDEX ix_job_history_", detail), detail
            assert "SCAN job_history" not in detail, (statement, detail)
    store.close()
