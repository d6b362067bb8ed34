"""``cbsalert backfill`` (issue 18.2): past days into job history, on the simulator, with the
calls it makes counted; nothing evaluated, stored as an alert or sent.

The world of tests/test_catch_up_days.py: obm (and bob) back up Docs (set 1) and Mail (set 2)
every night at 22:00; a day costs a user 3 + 2 x (1 + 1) = 7 calls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cbsalert.backfill import BackfillResult, backfill_range, run_backfill
from cbsalert.cli import app
from cbsalert.clibackfill import print_backfill
from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.errors import (
    EXIT_CBS,
    EXIT_CONFIG,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    LockTimeoutError,
    UsageError,
)
from cbsalert.state import open_store
from tests.conftest import config_dict, write_config
from tests.test_catch_up_days import day, make_config, user, world

CALLS_PER_USER_DAY = 3 + 2 * (1 + 1)


def backfill(config: Config, first: int, last: int, **options: Any) -> BackfillResult:
    return asyncio.run(run_backfill(config, day(first), day(last), **options))


def kept(config: Config) -> list[tuple[str, str, date, str]]:
    """(login, set, day, outcome) of every history row, by login, set, day."""
    store = open_store(config.state, auto_upgrade=True)
    try:
        rows = store.job_history.between(date(2000, 1, 1), date(2100, 1, 1))
    finally:
        store.close()
    return [(j.login, j.backup_set_id, j.day, j.outcome) for j in rows]


def test_backfill_writes_each_day_with_the_calls_of_a_check_and_nothing_else(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(2,))))
    config = make_config(sim, slack, tmp_path)

    result = backfill(config, 1, 5)

    assert result.exit_code == EXIT_OK and result.complete
    assert result.days == [day(n) for n in range(1, 6)]
    assert sim.count() == result.run.api_calls == 5 * CALLS_PER_USER_DAY
    assert (result.fetched, result.skipped, result.rows) == (5, 0, 10)
    assert kept(config) == [
        *(("obm", "1", day(n), "failed" if n == 2 else "ok") for n in range(1, 6)),
        *(("obm", "2", day(n), "ok") for n in range(1, 6)),
    ]
    store = open_store(config.state, auto_upgrade=True)
    try:  # no alert, no day checked, no set remembered: those are the check's
        assert store.list_alerts(include_resolved=True) == []
        assert store.checked.through(["obm"]) == {}
        assert store.seen.since(["obm"], day(0)) == {"obm": {}}
    finally:
        store.close()
    assert slack.messages == []


def test_a_second_backfill_fetches_nothing_and_force_fetches_again(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm"), user("bob")))
    config = make_config(sim, slack, tmp_path)
    backfill(config, 1, 5)
    before, rows = sim.count(), kept(config)

    again = backfill(config, 1, 5)
    assert sim.count() == before and again.run.api_calls == 0
    assert (again.fetched, again.skipped, again.rows) == (0, 10, 0)
    more = backfill(config, 1, 6)  # one day more: only it is fetched
    assert sim.count() - before == more.run.api_calls == 2 * CALLS_PER_USER_DAY

    forced = backfill(config, 1, 5, force=True)
    assert forced.run.api_calls == 5 * 2 * CALLS_PER_USER_DAY
    assert [r for r in kept(config) if r[2] <= day(5)] == rows  # replaced, not doubled


def test_a_day_the_check_already_wrote_is_not_fetched_again(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm")))
    config = make_config(sim, slack, tmp_path)
    now = datetime.combine(day(4), datetime.min.time(), UTC) + timedelta(hours=7)
    from cbsalert.pipeline import run_once

    asyncio.run(run_once(config, now=now))  # the morning check of day 3
    before = sim.count()
    result = backfill(config, 1, 3)
    assert sim.count() - before == result.run.api_calls == 2 * CALLS_PER_USER_DAY
    assert result.skipped == 1


def test_a_backfill_the_cbs_stops_part_way_keeps_the_days_done_and_the_next_one_resumes(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    data = world(user("obm"), user("bob"))
    sim = make_sim(data)
    config = make_config(sim, slack, tmp_path)

    def cbs_goes_down(done: int, _total: int, _day: date) -> None:
        if done == 4:  # both users of days 1 and 2 fetched
            sim.stop()

    stopped = backfill(config, 1, 5, progress=cbs_goes_down)

    assert stopped.exit_code == EXIT_CBS and not stopped.complete
    assert stopped.days == [day(1), day(2)]
    assert stopped.run.fatal is not None and "cannot be used" in stopped.run.fatal
    assert {r[2] for r in kept(config) if r[3] != "unchecked"} == {day(1), day(2)}
    console = Console(record=True, width=100)
    print_backfill(console, stopped)
    said = console.export_text()
    assert "the CBS cannot be used" in said
    assert "2026-11-17 and 2026-11-18 are in history; run the same backfill again" in said

    back = make_sim(data)  # the CBS is back (at another address)
    cbs = config.cbs.model_copy(update={"url": back.url})
    resumed = backfill(config.model_copy(update={"cbs": cbs}), 1, 5)
    assert resumed.complete and resumed.days == [day(3), day(4), day(5)]
    assert back.count() == resumed.run.api_calls == 3 * 2 * CALLS_PER_USER_DAY
    assert {r[2] for r in kept(config)} == {day(n) for n in range(1, 6)}
    assert "unchecked" not in {r[3] for r in kept(config)}


def test_a_user_that_could_not_be_fetched_on_a_day_is_fetched_by_the_next_backfill(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm"), user("bob")))
    config = make_config(sim, slack, tmp_path)
    sim.inject("500", count=2, operation="ListBackupJobMode", login="bob")  # retries too

    partial = backfill(config, 1, 3)

    assert partial.exit_code == EXIT_PARTIAL and not partial.complete
    assert [(e.login, e.day) for e in partial.run.errors] == [("bob", day(1))]
    assert ("bob", "", day(1), "unchecked") in kept(config)
    console = Console(record=True, width=100)
    print_backfill(console, partial)
    assert "Users that could not be fetched" in console.export_text()

    before = sim.count()
    again = backfill(config, 1, 3)
    assert again.complete and (again.fetched, again.skipped) == (1, 5)
    assert sim.count() - before == CALLS_PER_USER_DAY
    assert ("bob", "1", day(1), "ok") in kept(config)


def test_a_backfill_waits_for_the_run_lock_like_a_check(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm")))
    config = make_config(sim, slack, tmp_path, lock_timeout_s=0)
    store = open_store(config.state, auto_upgrade=True)
    try:
        with store.lock.hold("check@elsewhere:1", timeout_s=5), pytest.raises(LockTimeoutError):
            backfill(config, 1, 2)
    finally:
        store.close()
    assert sim.count() == 0


TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("options", "first"),
    [({"days": 1}, date(2026, 11, 29)), ({"days": 14}, date(2026, 11, 16)),
     ({"since": date(2026, 11, 1)}, date(2026, 11, 1)),
     ({"since": date(2026, 11, 29)}, date(2026, 11, 29))],
)  # fmt: skip
def test_the_days_to_fetch_end_yesterday(options: dict[str, Any], first: date) -> None:
    assert backfill_range(TODAY, 400, **options) == (first, date(2026, 11, 29))


@pytest.mark.parametrize(
    ("history_days", "options", "message"),
    [
        (400, {}, "backfill needs either --days N or --since DATE (not both)"),
        (400, {"days": 2, "since": TODAY}, "either --days N or --since DATE (not both)"),
        (400, {"days": 0}, "--days 0: give at least 1 day"),
        (400, {"since": TODAY}, "--since 2026-11-30: only finished days can be fetched; the "
                                "latest is yesterday, 2026-11-29"),
        (30, {"days": 31}, "--days 31 reaches back to 2026-10-30, older than history_days (30 "
                           "days, so 2026-10-31 at the earliest)"),
        (30, {"since": date(2026, 1, 1)}, "--since 2026-01-01 is 2026-01-01, older than "
                                          "history_days"),
        (0, {"days": 1}, "history_days is 0 in the config: no job history is kept"),
    ],
)  # fmt: skip
def test_a_backfill_history_does_not_keep_is_refused_saying_why(
    history_days: int, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        backfill_range(TODAY, history_days, **options)
    assert message in str(caught.value)


# -- the command ---------------------------------------------------------------------------------


def recent_world(tmp_path: Path, make_sim: Callable[..., Simulator], **config: Any) -> Path:
    """obm's nightly jobs of the last days before the real today, and a config for it."""
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    jobs = [{"set": s, "start": f"D-{n} 22:00:00", "end": f"D-{n} 22:20:00"}
            for n in range(1, 4) for s in ("1", "2")]  # fmt: skip
    obm = {"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"},
                                           {"id": "2", "name": "Mail"}], "jobs": jobs}  # fmt: skip
    sim = make_sim({"today": str(today), "users": [obm]})
    return write_config(tmp_path / "cbsalert.yaml", config_dict(sim.url, tmp_path, **config))


def invoke(path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, ["backfill", "-c", str(path), *args], env=env)
    return done.exit_code, done.stdout, done.stderr


def test_the_command_says_what_it_fetched_and_a_rerun_fetches_nothing(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    path = recent_world(tmp_path, make_sim)
    code, out, err = invoke(path, "--days", "3")
    assert code == EXIT_OK, err
    assert "3 user-days fetched, 0 already in history; 6 rows written; 21 API calls" in out
    assert "━" not in err  # not a terminal: no progress bar

    code, out, _ = invoke(path, "--days", "3", "--format", "json")
    doc = json.loads(out)
    assert code == EXIT_OK
    assert (doc["user_days"], doc["rows"], doc["api_calls"]) == (
        {"fetched": 0, "skipped": 3}, 0, 0)  # fmt: skip


def test_the_command_shows_a_progress_bar_only_on_a_terminal_and_never_with_json(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    path = recent_world(tmp_path, make_sim)
    terminal = {"TTY_COMPATIBLE": "1", "COLUMNS": "100"}
    code, out, err = invoke(path, "--days", "2", env=terminal)
    assert code == EXIT_OK and "backfill" in err and "2/2" in err
    code, out, err = invoke(path, "--days", "3", "--format", "json", "--force", env=terminal)
    assert code == EXIT_OK and err == "" and json.loads(out)["user_days"]["fetched"] == 3


def test_the_command_refuses_a_range_history_does_not_keep_before_any_call(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    path = recent_world(tmp_path, make_sim, history_days=10)
    code, _, err = invoke(path, "--days", "11")
    assert code == EXIT_CONFIG
    assert "error: --days 11 reaches back to" in err and "older than history_days (10" in err
    code, _, err = invoke(path, "--since", "yesterday")
    assert code == EXIT_CONFIG and "--since: 'yesterday' is not a date like" in err
    assert not (tmp_path / "state.db").exists()


def test_the_command_exits_5_when_another_run_holds_the_lock(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    path = recent_world(tmp_path, make_sim, lock_timeout_s=0)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", auto_upgrade=True)
    try:
        with store.lock.hold("check@elsewhere:1", timeout_s=5):
            code, _, err = invoke(path, "--days", "1")
    finally:
        store.close()
    assert code == EXIT_LOCKED and "another cbsalert run holds the state database lock" in err
