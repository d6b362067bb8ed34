"""Discovering users, run after run on the simulated CBS over loopback: a user that appears
is watched from the next run, one that leaves has its alerts resolved in one message, a
suspended one is skipped, an old server without ListUsers still checks the named users and
says so, hostile logins never stop a run, and five thousand users cost one call."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cbsalert.backfill import run_backfill
from cbsalert.config import Config
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.discovery import discover
from cbsalert.fetch import make_client
from cbsalert.pipeline import RunResult, run_once
from cbsalert.reconcile import AlertSnapshot, reconcile_findings
from cbsalert.rules import (
    META_RULE_ID,
    UNCHECKED_RULE_ID,
    UNRESOLVED_RULE_ID,
    BackupStatusRule,
    CbsUnreachableRule,
    RuleBase,
)
from cbsalert.state import open_store
from tests.conftest import SYS_PASSWORD, config_dict

FIRST = date(2026, 11, 16)
FAILED = "BS_STOP_BY_SYSTEM_ERROR"


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def customer(login: str, owner: str = "reseller1", **more: Any) -> dict[str, Any]:
    """A user whose one set fails every night."""
    jobs = [{"set": "1", "start": f"{day(i)} 22:00:00", "end": f"{day(i)} 22:20:00",
             "status": FAILED} for i in range(6)]  # fmt: skip
    return {"login": login, "owner": owner, "backup_sets": [{"id": "1", "name": "Docs"}],
            "jobs": jobs, **more}  # fmt: skip


def world(*users: dict[str, Any], **more: Any) -> SimData:
    return SimData.model_validate(
        {"system_password": SYS_PASSWORD, "today": str(day(6)), "users": list(users), **more}
    )


def make_config(sim: Simulator, slack: SlackSink, tmp_path: Path, *watch: dict[str, Any],
                **more: Any) -> Config:  # fmt: skip
    raw = config_dict(
        sim.url, tmp_path, watch=list(watch or ({"select": "all"},)),
        rules=[{"id": "failed", "kind": "backup_status", "notify": ["ops"]}],
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}}, **more,
    )  # fmt: skip
    return Config.model_validate(raw)


def check(config: Config, n: int, *, dry_run: bool = False) -> RunResult:
    now = datetime.combine(day(n + 1), datetime.min.time(), UTC) + timedelta(hours=7)
    return asyncio.run(run_once(config, day=day(n), now=now, dry_run=dry_run))


def alerts(config: Config) -> dict[tuple[str, str], tuple[str, str]]:
    """(rule, login) -> (state, summary) of every stored alert."""
    store = open_store(config.state, auto_upgrade=True)
    try:
        return {
            (a["rule"], a["login"]): (a["state"], a["summary"]) for a in store.list_alerts(True)
        }
    finally:
        store.close()


def checked_logins(sim: Simulator) -> set[str]:
    return {str(c.params.get("LoginName")) for c in sim.calls if c.operation == "ListBackupSets"}


# -- 1. selections, counted --------------------------------------------------------------------


def test_a_selection_watches_the_users_listusers_gives_and_counts_them(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("acme-hq"), customer("acme-fs"), customer("test-1"),
                         customer("beta", owner="reseller2")))  # fmt: skip
    config = make_config(
        sim, slack, tmp_path,
        {"login": "beta"},
        {"select": {"owners": ["reseller1"]}, "exclude": ["test-*"]},
    )  # fmt: skip

    result = check(config, 0)

    assert result.exit_code == 0
    assert checked_logins(sim) == {"beta", "acme-hq", "acme-fs"}
    assert [c.path for c in sim.calls if c.operation == "ListUsers"] == [
        "/obs/api/json/2/ListUsers.do"
    ]
    users = result.to_json()["users"]
    assert {k: users[k] for k in ("total", "checked", "watched", "explicit", "selected",
                                  "excluded", "not_selected")} == {
        "total": 3, "checked": 3, "watched": 3, "explicit": 1, "selected": 2, "excluded": 1,
        "not_selected": 0,
    }  # fmt: skip
    assert users["problems"] == []
    assert result.calls_by_operation["ListUsers"] == 1


def test_a_config_without_selections_does_not_ask_listusers(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice")))
    result = check(make_config(sim, slack, tmp_path, {"login": "alice"}), 0)

    assert sim.count("ListUsers") == 0
    assert result.to_json()["users"] == {"total": 1, "checked": 1}


def test_client_type_is_asked_of_listusers_as_its_filter(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("pc"), customer("phone", client_type="ACB")))
    config = make_config(sim, slack, tmp_path, {"select": "all", "client_type": "acb"})

    result = check(config, 0)

    assert checked_logins(sim) == {"phone"}
    asked = [c.params.get("ClientType") for c in sim.calls if c.operation == "ListUsers"]
    assert asked == [None, "ACB"]
    assert result.watch is not None
    [pc] = [r for r in result.watch.rows if r.login == "pc"]
    assert pc.reason == "client type OBM, not ACB (watch[0] client_type)"


# -- 2. users that come, go, or are suspended ---------------------------------------------


def test_a_user_that_appears_is_watched_from_the_next_run(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice")))
    config = make_config(sim, slack, tmp_path)
    check(config, 0)
    assert checked_logins(sim) == {"alice"}

    sim.set_data(world(customer("alice"), customer("bob")))  # a customer added on the CBS
    later = check(config, 1)

    assert "bob" in checked_logins(sim)
    assert [(e.finding.login, e.state) for e in later.reported if e.state == "new"] == [
        ("bob", "new")
    ]
    assert later.users_total == 2 and later.exit_code == 0


def test_a_user_gone_from_the_cbs_has_its_alerts_resolved_in_one_message(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice"), customer("bob")))
    config = make_config(sim, slack, tmp_path)
    check(config, 0)
    sim.inject("500", count=2, operation="ListRestoreJobStatus", login="bob")  # with its retry
    assert check(config, 1).exit_code == 1  # bob could not be checked that day
    before = alerts(config)
    assert before[("failed", "bob")][0] == before[(UNCHECKED_RULE_ID, "bob")][0] == "firing"
    sent = len(slack.messages)

    sim.set_data(world(customer("alice")))  # bob's account deleted on the CBS
    gone = check(config, 2)

    assert gone.exit_code == 0 and gone.errors == []
    assert sorted((e.finding.rule, e.state) for e in gone.reported if e.finding.login == "bob") == [
        (UNCHECKED_RULE_ID, "resolved"), ("failed", "resolved"),
    ]  # fmt: skip
    [message] = [json.dumps(m) for m in slack.messages[sent:]]
    assert "user no longer on the CBS" in message
    after = alerts(config)
    assert after[("failed", "bob")] == (
        "resolved", "Resolved: user no longer on the CBS (bob is not among its users).",
    )  # fmt: skip
    assert after[("failed", "alice")][0] == "firing"

    assert check(config, 3).deliveries_sent == 0  # nothing more about bob


def test_a_named_user_gone_from_the_cbs_keeps_its_alerts_and_is_reported_unchecked(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice"), customer("bob")))
    config = make_config(sim, slack, tmp_path, {"login": "bob"}, {"select": "all"})
    check(config, 0)

    sim.set_data(world(customer("alice")))
    result = check(config, 1)

    assert result.exit_code == 1
    after = alerts(config)
    assert after[("failed", "bob")][0] == "firing"
    assert after[(UNCHECKED_RULE_ID, "bob")][0] == "firing"
    assert result.watch is not None
    assert [(r.login, r.status) for r in result.watch.rows if r.login == "bob"] == [
        ("bob", "not_listed")
    ]


def test_a_suspended_user_is_skipped_unless_the_entry_says_otherwise(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice"), customer("late", suspended=True)))
    skipping = check(make_config(sim, slack, tmp_path), 0, dry_run=True)

    assert checked_logins(sim) == {"alice"}
    assert skipping.to_json()["users"]["suspended"] == 1
    assert {e.finding.login for e in skipping.reported} == {"alice"}

    keeping = make_config(sim, slack, tmp_path, {"select": "all", "skip_suspended": False})
    assert {e.finding.login for e in check(keeping, 0, dry_run=True).reported} == {"alice", "late"}


# -- 3. a server without ListUsers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "said"),
    [
        ({"list_users": "none"}, "Unsupported API: ListUsers"),
        ({"list_users": "v1", "missing_path": "404"}, "HTTP 404"),
    ],
    ids=["status-error", "404-on-the-v2-path"],
)
def test_an_old_server_checks_the_named_users_and_says_which_entry_needs_listusers(
    make_sim: Any, slack: SlackSink, tmp_path: Path, server: dict[str, Any], said: str
) -> None:
    sim = make_sim(world(customer("alice"), customer("bob"), **server))
    config = make_config(sim, slack, tmp_path, {"login": "alice"}, {"select": "all"})

    result = check(config, 0)

    assert result.exit_code == 1 and result.outcome == "partial"
    assert checked_logins(sim) == {"alice"}
    [problem] = result.to_json()["users"]["problems"]
    assert problem.startswith("watch[1] (select: all) cannot be resolved: the CBS does not "
                              "offer ListUsers v2 (")  # fmt: skip
    assert said in problem and "login: entries" in problem
    fired = alerts(config)[(UNRESOLVED_RULE_ID, "(watch)")]
    assert fired[0] == "firing" and "watch[1] (select: all)" in fired[1]
    assert said in json.dumps(slack.messages[-1])

    sim.set_data(world(customer("alice"), customer("bob")))  # the CBS upgraded
    upgraded = check(config, 1)

    assert upgraded.exit_code == 0
    assert alerts(config)[(UNRESOLVED_RULE_ID, "(watch)")][0] == "resolved"
    assert "bob" in checked_logins(sim)


def test_an_error_answer_about_another_thing_is_said_as_such(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice")))
    sim.inject("data_string", operation="ListUsers")  # {"Status":"OK","Data":"no data"}
    result = check(make_config(sim, slack, tmp_path), 0, dry_run=True)

    [problem] = result.watch_problems
    assert "ListUsers failed (unexpected answer" in problem
    assert result.exit_code == 1 and result.users_total == 0


def test_wrong_system_credentials_on_listusers_stop_the_run_as_the_fetch_would(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice")))
    raw = config_dict(sim.url, tmp_path, watch=[{"select": "all"}],
                      cbs={"sys_password": "wrong"})  # fmt: skip
    result = check(Config.model_validate(raw), 0, dry_run=True)

    assert result.exit_code == 3 and result.fatal_cause == "login"
    assert "Incorrect system username/password" in (result.fatal or "")
    assert sim.count("ListBackupSets") == 0


# -- hostile logins, a big server ------------------------------------------------------------


def test_hostile_user_names_never_stop_a_run_nor_reach_a_message_raw(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(
        customer("<b>acme</b>", owner="*bold* <!channel>\u202e"),
        customer("evil\x1b[2J"), customer("a|b"), customer("x" * 300),
        customer("fine", listed_as={"Owner": {"nested": True}, "Status": ["x"]}),
    ))  # fmt: skip
    config = make_config(sim, slack, tmp_path)

    result = check(config, 0)

    assert result.exit_code == 0
    assert checked_logins(sim) == {"<b>acme</b>", "fine"}
    assert result.watch is not None and result.watch.counts()["unusable"] == 3
    posted = json.dumps(slack.messages)
    assert "\u202e" not in posted and "\\u202e" not in posted and "\x1b" not in posted
    assert "<!channel>" not in posted


def test_five_thousand_users_are_one_listusers_call(make_sim: Any, tmp_path: Path) -> None:
    users = [{"login": f"customer-{n:04d}", "owner": f"reseller{n % 7}"} for n in range(5000)]
    sim = make_sim(world(*users))
    select = {"select": {"owners": ["reseller1", "reseller2"]}, "exclude": ["customer-0*"]}
    raw = config_dict(sim.url, tmp_path, watch=[select])
    config = Config.model_validate(raw)

    async def resolve() -> Any:
        async with make_client(config) as client:
            return await discover(config, client), client.total_calls

    found, calls = asyncio.run(resolve())

    assert calls == 1
    expected = [u["login"] for n, u in enumerate(users) if n % 7 in (1, 2) and n >= 1000]
    assert [e.login for e in found.entries] == expected
    assert len(found.report.rows) == 5000 and found.present is not None


def test_an_answer_over_max_answer_mb_leaves_the_selection_unresolved_not_the_run(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    users = [{"login": f"customer-{n:04d}"} for n in range(5000)]
    sim = make_sim(world(customer("alice", owner=""), *users))
    config = make_config(sim, slack, tmp_path, {"login": "alice"}, {"select": "all"},
                         cbs={"max_answer_mb": 0.5})  # fmt: skip

    result = check(config, 0, dry_run=True)

    [problem] = result.watch_problems
    assert "larger than 0.5 MB (cbs.max_answer_mb)" in problem
    assert checked_logins(sim) == {"alice"} and result.exit_code == 1


# -- the same decisions on plain data -----------------------------------------------------------

NOW = datetime(2026, 11, 18, 7, tzinfo=UTC)
RULES: dict[str, RuleBase] = {
    "failed": BackupStatusRule(id="failed", notify=["ops"]),
    META_RULE_ID: CbsUnreachableRule(id=META_RULE_ID, notify=["ops"]),
}


def stored(rule: str, login: str) -> AlertSnapshot:
    return AlertSnapshot(
        key=f"{rule}|{login}||", rule=rule, kind="backup_status", severity="critical",
        login=login, state="firing", since=NOW - timedelta(days=2), since_day=day(0),
        last_day=day(0), last_fired_day=day(0), backup_set_id=None, backup_set_name=None,
        last_notified_at=NOW - timedelta(days=2), id=1,
    )  # fmt: skip


def decide(users_on_cbs: set[str] | None) -> list[tuple[str, str, str]]:
    existing = [stored("failed", "gone"), stored("failed", "here"), stored("old-rule", "gone"),
                stored(META_RULE_ID, "(cbs)")]  # fmt: skip
    events, _ = reconcile_findings(
        (), {s.key: s for s in existing}, RULES, (), day=day(1), now=NOW,
        checked_logins={"here"}, users_on_cbs=users_on_cbs,
    )  # fmt: skip
    return sorted((e.finding.rule, e.finding.login, e.state) for e in events)


def test_only_the_alerts_of_users_not_on_the_cbs_resolve_and_never_the_servers() -> None:
    assert decide({"here"}) == [
        (META_RULE_ID, "(cbs)", "firing"), ("failed", "gone", "resolved"),
        ("failed", "here", "firing"),
    ]  # fmt: skip
    # ListUsers not asked, or not answered: nobody is known to be gone
    assert decide(None) == [
        (META_RULE_ID, "(cbs)", "firing"), ("failed", "gone", "firing"),
        ("failed", "here", "firing"),
    ]  # fmt: skip


# -- backfill watches what a check watches ------------------------------------------------------


def test_backfill_fetches_the_selected_users_and_says_when_it_cannot(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(customer("alice"), customer("bob")))
    config = make_config(sim, slack, tmp_path, {"select": {"logins": ["b*"]}})

    done = asyncio.run(run_backfill(config, day(1), day(2)))

    assert done.complete and done.exit_code == 0
    assert checked_logins(sim) == {"bob"} and done.fetched == 2

    sim.set_data(world(customer("alice"), customer("bob"), list_users="none"))
    stopped = asyncio.run(run_backfill(config, day(3), day(3)))

    assert not stopped.complete and stopped.exit_code == 1
    assert "cannot be resolved" in stopped.run.watch_problems[0]
