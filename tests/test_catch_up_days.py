"""Days a check could not run are checked later (issue 15.1), over several runs on the
simulator with the Slack stand-in and the clock injected.

The story: obm backs up two sets, Docs (1) and Mail (2), every night from FIRST on. The
check runs each morning for the day before; some mornings the CBS cannot be used (here:
it refuses the system user), or a user cannot be checked, or cbsalert does not run at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from cbsalert.config import Config, load_config
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.errors import EXIT_CBS, EXIT_OK, EXIT_PARTIAL
from cbsalert.labels import SEVERITY_EMOJI, day_label
from cbsalert.metrics import Metrics
from cbsalert.pipeline import RunResult, run_once
from cbsalert.rules import META_RULE_ID, UNCHECKED_RULE_ID
from cbsalert.scheduler import Service
from cbsalert.state import open_store
from tests.conftest import SYS_PASSWORD, config_dict, write_config

FIRST = date(2026, 11, 16)
OK, FAIL = "BS_STOP_SUCCESS", "BS_STOP_BY_SYSTEM_ERROR"
DAYS = 14


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def jobs(set_id: str, failed_on: tuple[int, ...]) -> list[dict[str, Any]]:
    return [
        {"set": set_id, "start": f"{day(i)} 22:00:00", "end": f"{day(i)} 22:20:00",
         "status": FAIL if i in failed_on else OK}
        for i in range(DAYS)
    ]  # fmt: skip


def user(login: str, docs: tuple[int, ...] = (), mail: tuple[int, ...] = ()) -> dict[str, Any]:
    """A user with sets Docs and Mail, failing on the given days."""
    return {
        "login": login,
        "backup_sets": [{"id": "1", "name": "Docs"}, {"id": "2", "name": "Mail"}],
        "jobs": jobs("1", docs) + jobs("2", mail),
    }


def world(*users: dict[str, Any]) -> SimData:
    return SimData.model_validate(
        {"system_password": SYS_PASSWORD, "today": str(day(DAYS)), "users": list(users)}
    )


def make_config(sim: Simulator, slack: SlackSink, tmp_path: Path, **overrides: Any) -> Config:
    logins = [u.login for u in sim.data.users]
    raw = config_dict(sim.url, tmp_path, **{
        "watch": [{"login": login} for login in logins],
        "rules": [{"id": "failed", "kind": "backup_status", "notify": ["ops"]}],
        "notifiers": {"ops": {"type": "slack", "webhook_url": slack.url}},
        **overrides,
    })  # fmt: skip
    return Config.model_validate(raw)


def refused(config: Config) -> Config:
    """The same config, but the CBS refuses its system user: nothing can be checked."""
    cbs = config.cbs.model_copy(update={"sys_password": SecretStr("not-the-password")})
    return config.model_copy(update={"cbs": cbs})


def morning(n: int) -> datetime:
    """The morning after day n (08:00 in Amsterdam), when the daily check runs."""
    return datetime.combine(day(n + 1), datetime.min.time(), UTC) + timedelta(hours=7)


def run(config: Config, n: int, **options: Any) -> RunResult:
    """The daily check on the morning after day n, as cron or serve runs it (no --date)."""
    return asyncio.run(run_once(config, now=morning(n), **options))


def sections(message: dict[str, Any]) -> list[str]:
    return [
        block["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "section" and "text" in block
    ]


def about(message: dict[str, Any], *words: str) -> str:
    """The one entry of the message that holds every word: a section, or one line of the
    section of resolved entries (one line each)."""
    entries = [
        line
        for text in sections(message)[1:]  # not the headline
        for line in (text.splitlines() if text.startswith(SEVERITY_EMOJI["resolved"]) else [text])
    ]
    [found] = [text for text in entries if all(w in text for w in words)]
    return found


def changes(result: RunResult) -> list[tuple[str, str | None, str, str]]:
    """(rule, set name, state, day) of each alert the JSON lists."""
    return [
        (a["rule"], a["backup_set_name"], a["state"], a["date"]) for a in result.to_json()["alerts"]
    ]


def stored(config: Config) -> dict[tuple[str, str | None], tuple[str, str | None]]:
    store = open_store(config.state, auto_upgrade=True)
    try:
        return {
            (a["rule"], a["backup_set_name"]): (a["state"], a["last_seen"])
            for a in store.list_alerts(include_resolved=True)
        }
    finally:
        store.close()


def test_days_missed_while_the_cbs_was_down_are_checked_and_told_in_one_message(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(1,), mail=(2, 3))))
    config = make_config(sim, slack, tmp_path)
    assert run(config, 0).exit_code == EXIT_OK
    assert run(refused(config), 1).exit_code == EXIT_CBS  # the meta-alert is announced
    assert run(refused(config), 2).exit_code == EXIT_CBS
    assert len(slack.messages) == 1
    calls = sim.count()

    back = run(config, 3)

    assert back.exit_code == EXIT_OK
    assert back.days == [day(1), day(2), day(3)]
    doc = back.to_json()
    assert doc["date"] == str(day(3))
    assert doc["days"] == [str(day(1)), str(day(2)), str(day(3))]
    assert doc["days_not_checked"] == []
    assert sorted(changes(back)) == sorted([
        ("failed", "Docs", "new", str(day(1))),
        ("failed", "Docs", "resolved", str(day(2))),
        ("failed", "Mail", "new", str(day(2))),
        ("failed", "Mail", "firing", str(day(3))),  # still failing, latest evidence
        (META_RULE_ID, None, "resolved", str(day(3))),
    ])  # fmt: skip
    # One message covering every day, each alert saying which day it is about.
    assert len(slack.messages) == 2
    message = slack.messages[1]
    assert "backups of Tue 17 Nov to Thu 19 Nov" in message["text"]
    assert "· new · backups of Tue 17 Nov" in about(message, "Docs", "· new")
    assert about(message, "Docs", "resolved (").endswith(" · Wed 18 Nov")
    assert "· new · backups of Wed 18 Nov" in about(message, "Mail", "· new")
    reachable = about(message, "can check the backups on CBS")
    assert "2026-11-17 and 2026-11-18" in reachable and "checked now" in reachable
    # Within the API-call formula for each day checked: 3 + S x (1 + N x D) per user, for
    # S = 2 sets that ran, N = 1 job each, D = 1 destination.
    assert sim.count() - calls == back.api_calls == 3 * (3 + 2 * (1 + 1 * 1))
    assert stored(config)[("failed", "Docs")] == ("resolved", str(day(3)))
    assert stored(config)[("failed", "Mail")] == ("firing", str(day(3)))

    # The days are checked now: the next morning checks yesterday only.
    after = run(config, 4)
    assert after.days == [day(4)]
    assert changes(after) == [("failed", "Mail", "resolved", str(day(4)))]


def test_a_user_that_could_not_be_checked_is_caught_up_the_next_day(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("alice", docs=(1,)), user("bob")))
    config = make_config(sim, slack, tmp_path)
    run(config, 0)
    sim.inject("500", count=2, operation="ListBackupJobMode", login="alice")  # retries too
    missed = run(config, 1)
    assert missed.exit_code == EXIT_PARTIAL
    assert [(e.finding.login, e.state) for e in missed.reported] == [("alice", "new")]
    calls = sim.count()

    caught = run(config, 2)

    assert caught.exit_code == EXIT_OK
    assert caught.days == [day(1), day(2)]
    assert sorted((a["rule"], a["login"], a["state"], a["date"]) for a in
                  caught.to_json()["alerts"]) == [
        (UNCHECKED_RULE_ID, "alice", "resolved", str(day(2))),
        ("failed", "alice", "new", str(day(1))),  # her failure of the day she was missed
        ("failed", "alice", "resolved", str(day(2))),
    ]  # fmt: skip
    message = slack.messages[-1]
    assert len(slack.messages) == 2
    assert "backups of Tue 17 Nov" in about(message, "alice", "Docs", "· new")
    # alice two days, bob one: each user only on the days it is due.
    assert sim.count() - calls == caught.api_calls == 3 * (3 + 2 * 2)


def test_catch_up_days_0_checks_yesterday_only_and_says_which_days_went_unchecked(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(1,), mail=(2, 3))))
    config = make_config(sim, slack, tmp_path, catch_up_days=0)
    run(config, 0)
    run(refused(config), 1)
    run(refused(config), 2)
    calls = sim.count()

    back = run(config, 3)

    assert back.days == [day(3)]
    assert back.to_json()["days_not_checked"] == [str(day(1)), str(day(2))]
    assert sorted(changes(back)) == [
        (META_RULE_ID, None, "resolved", str(day(3))),
        ("failed", "Mail", "new", str(day(3))),
    ]  # Docs failed on day 1 only, which nobody checked
    assert sim.count() - calls == back.api_calls == 3 + 2 * 2
    reachable = about(slack.messages[-1], "can check the backups on CBS")
    assert "2026-11-17 and 2026-11-18 were not checked (catch_up_days: 0)" in reachable


def test_a_long_outage_is_caught_up_only_catch_up_days_back_and_the_rest_is_named(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    # Docs fails on day 4, too long ago to be caught up; Mail on day 9, which is.
    sim = make_sim(world(user("obm", docs=(4,), mail=(9,))))
    config = make_config(sim, slack, tmp_path)
    assert config.catch_up_days == 3
    run(config, 0)
    run(refused(config), 1)  # down from here on; nobody looks again until day 11 is over

    back = run(config, 11)

    assert back.days == [day(8), day(9), day(10), day(11)]
    assert back.to_json()["days_not_checked"] == [str(day(n)) for n in range(1, 8)]
    assert sorted(changes(back)) == [
        (META_RULE_ID, None, "resolved", str(day(11))),
        ("failed", "Mail", "new", str(day(9))),
        ("failed", "Mail", "resolved", str(day(10))),
    ]
    message = slack.messages[-1]
    reachable = about(message, "can check the backups on CBS")
    assert "2026-11-24 to 2026-11-26" in reachable and "checked now" in reachable
    assert "2026-11-17 to 2026-11-23 were not checked (catch_up_days: 3)" in reachable
    assert "not checked: *Tue 17 Nov to Mon 23 Nov*" in json.dumps(message, ensure_ascii=False)


def test_days_cbsalert_did_not_run_are_caught_up_and_the_first_run_catches_up_nothing(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(2,))))
    config = make_config(sim, slack, tmp_path)
    first = run(config, 1)  # a new installation: no record of any day
    assert first.days == [day(1)] and first.to_json()["days_not_checked"] == []

    back = run(config, 4)  # no run on the mornings after days 2 and 3

    assert back.days == [day(2), day(3), day(4)]
    assert changes(back) == [
        ("failed", "Docs", "new", str(day(2))), ("failed", "Docs", "resolved", str(day(3))),
    ]  # fmt: skip
    assert len(slack.messages) == 1


def test_check_date_checks_exactly_that_day_and_dry_run_writes_nothing(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(2,))))
    config = make_config(sim, slack, tmp_path)
    run(config, 1)
    db = tmp_path / "state.db"

    exact = run(config, 4, day=day(4))  # `check --date`: that day, no catch-up
    assert exact.days == [day(4)] and exact.reported == []

    before = db.read_bytes()
    preview = run(config, 4, dry_run=True)
    assert preview.days == [day(2), day(3), day(4)]
    assert [e.state for e in preview.reported] == ["new", "resolved"]
    assert db.read_bytes() == before and slack.messages == []

    real = run(config, 4)  # the dry run recorded nothing: the days are still due
    assert real.days == [day(2), day(3), day(4)] and len(slack.messages) == 1


def test_serve_catches_up_as_check_does(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    """``serve``'s runs take the real clock: the world is laid out around today."""
    now = datetime.now(UTC)
    yesterday = now.astimezone(ZoneInfo("Europe/Amsterdam")).date() - timedelta(days=1)
    missed = yesterday - timedelta(days=2)
    job = {"set": "1", "start": f"{missed} 22:00:00", "end": f"{missed} 22:20:00",
           "status": FAIL}  # fmt: skip
    docs = {"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": [job]}
    sim = make_sim({"users": [docs]})
    raw = config_dict(
        sim.url, tmp_path, rules=[{"id": "failed", "kind": "backup_status", "notify": ["ops"]}],
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}},
    )  # fmt: skip
    path = write_config(tmp_path / "cbsalert.yaml", raw)
    config = load_config(path)
    asyncio.run(run_once(config, now=now - timedelta(days=3)))  # the last run, 3 days ago

    Service(path, config, Metrics()).run_scheduled(scheduled=False)

    [message] = slack.messages
    assert f"backups of {day_label(missed)}" in about(message, "Docs", "· new")
    assert f"{day_label(missed)} to {day_label(yesterday)}" in message["text"]


def test_catching_up_stops_after_deadline_s_and_yesterday_is_checked_anyway(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(2,))))
    config = make_config(sim, slack, tmp_path, cbs={"deadline_s": 3600})
    run(config, 0)
    # A slow CBS: each call answered takes ten minutes on the run's clock, so one missed
    # day (7 calls) is more than the deadline.
    slow = run(config, 3, clock=lambda: sim.count() * 600.0)
    assert slow.days == [day(1), day(3)]  # day 2 waits for the next run
    assert slow.reported == []

    after = run(config, 4)
    assert after.days == [day(2), day(3), day(4)]
    assert changes(after) == [
        ("failed", "Docs", "new", str(day(2))), ("failed", "Docs", "resolved", str(day(3))),
    ]  # fmt: skip
