"""Zombie alerts: a backup set deleted on the CBS while its alert fires resolves, saying why,
in one message; a watched login that disappears keeps its alerts and gets the "could not be
checked" alert instead. Several days in a row on the simulator, the clock injected, the
simulator's data changed between runs.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cbsalert.config import Config
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.model import Finding
from cbsalert.pipeline import RunResult, run_once
from cbsalert.reconcile import ActiveSilence, AlertSnapshot, reconcile_findings
from cbsalert.rules import UNCHECKED_RULE_ID, BackupStatusRule, RuleBase
from cbsalert.state import open_store
from tests.conftest import SYS_PASSWORD, config_dict

FIRST = date(2026, 11, 16)
FAILED = "BS_STOP_BY_SYSTEM_ERROR"
SETS = {"1": "Docs", "2": "Mail", "3": "Photos"}


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def world(sets: tuple[str, ...] = ("1", "2", "3"), *, version: str = "10.1.0.0",
          login: str = "alice") -> SimData:  # fmt: skip
    """alice's sets fail every night; only ``sets`` still exist on the CBS (a deleted set
    takes its job history with it)."""
    jobs = [
        {"set": s, "start": f"{day(i)} 22:00:00", "end": f"{day(i)} 22:20:00", "status": FAILED}
        for i in range(6)
        for s in sets
    ]
    user = {"login": login, "backup_sets": [{"id": s, "name": SETS[s]} for s in sets],
            "jobs": jobs}  # fmt: skip
    return SimData.model_validate(
        {
            "system_password": SYS_PASSWORD,
            "today": str(day(6)),
            "version": version,
            "users": [user],
        }
    )


def make_config(sim: Simulator, slack: SlackSink, tmp_path: Path) -> Config:
    raw = config_dict(
        sim.url, tmp_path,
        watch=[{"login": "alice"}],
        rules=[{"id": "failed", "kind": "backup_status", "notify": ["ops"]},
               {"id": "missing", "kind": "missing_backup", "notify": ["ops"]}],
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}},
    )  # fmt: skip
    return Config.model_validate(raw)


def check(config: Config, n: int) -> RunResult:
    now = datetime.combine(day(n + 1), datetime.min.time(), UTC) + timedelta(hours=7)
    return asyncio.run(run_once(config, day=day(n), now=now))


def stored(config: Config) -> dict[tuple[str, str | None], tuple[str, str]]:
    """(rule, set id) -> (state, summary) of every stored alert."""
    store = open_store(config.state, auto_upgrade=True)
    try:
        return {
            (a["rule"], a["backup_set_id"]): (a["state"], a["summary"])
            for a in store.list_alerts(True)
        }
    finally:
        store.close()


def start(make_sim: Any, slack: SlackSink, tmp_path: Path, **data: Any) -> tuple[Simulator, Config]:
    sim: Simulator = make_sim(world(**data))
    return sim, make_config(sim, slack, tmp_path)


def test_the_alerts_of_a_deleted_set_resolve_in_one_message_saying_why(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim, config = start(make_sim, slack, tmp_path)
    check(config, 0)
    assert len(slack.messages) == 1  # three sets failed

    sim.set_data(world(sets=("3",)))  # Docs and Mail deleted on the CBS
    gone = check(config, 1)

    assert sorted((e.finding.backup_set_id, e.state) for e in gone.reported) == [
        ("1", "resolved"),
        ("2", "resolved"),
        ("3", "firing"),
    ]
    [message] = [json.dumps(m) for m in slack.messages[1:]]
    assert "Docs" in message and "Mail" in message
    assert message.count("no longer exists") == 2
    after = stored(config)
    assert after[("failed", "1")][0] == after[("failed", "2")][0] == "resolved"
    assert "backup set no longer exists" in after[("failed", "1")][1]
    assert after[("failed", "3")][0] == "firing"

    assert check(config, 2).deliveries_sent == 0  # nothing more about the deleted sets
    assert len(slack.messages) == 2


def test_without_listbackupsets_a_set_missing_from_the_jobs_is_not_taken_for_deleted(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim, config = start(make_sim, slack, tmp_path, version="9.5.0.0")
    check(config, 0)
    sim.set_data(world(sets=("3",), version="9.5.0.0"))

    quiet = check(config, 1)

    assert [e.state for e in quiet.reported if e.finding.backup_set_id == "1"] != ["resolved"]
    assert stored(config)[("failed", "1")][0] == "firing"


def test_a_watched_login_gone_from_the_cbs_keeps_its_alerts_and_is_reported_unchecked(
    make_sim: Any, slack: SlackSink, tmp_path: Path
) -> None:
    sim, config = start(make_sim, slack, tmp_path)
    check(config, 0)
    sim.set_data(world(login="alice-deleted"))

    result = check(config, 1)

    changed = [(e.finding.rule, e.state) for e in result.reported if e.state != "firing"]
    assert changed == [(UNCHECKED_RULE_ID, "new")]
    after = stored(config)
    assert {after[("failed", s)][0] for s in SETS} == {"firing"}


# -- the same decisions on plain data -------------------------------------------------------

RULE = BackupStatusRule(id="failed", notify=["ops"])
RULES: dict[str, RuleBase] = {"failed": RULE}
NOW = datetime(2026, 11, 18, 7, tzinfo=UTC)


def snapshot(set_id: str, **fields: Any) -> AlertSnapshot:
    base: dict[str, Any] = dict(
        key=f"failed|alice|{set_id}|", rule="failed", kind="backup_status", severity="warning",
        login="alice", state="firing", since=NOW - timedelta(days=1), since_day=day(0),
        last_day=day(0), last_fired_day=day(0), backup_set_id=set_id, backup_set_name="Docs",
        last_notified_at=NOW - timedelta(days=1), id=1,
    )  # fmt: skip
    return AlertSnapshot(**{**base, **fields})


def decide(
    existing: list[AlertSnapshot],
    findings: tuple[Finding, ...] = (),
    silences: tuple[ActiveSilence, ...] = (),
    sets: dict[str, frozenset[str]] | None = None,
) -> list[tuple[str | None, str, tuple[str, ...], str]]:
    events, _ = reconcile_findings(
        findings, {s.key: s for s in existing}, RULES, silences, day=day(1), now=NOW,
        checked_logins={"alice"}, sets_on_cbs={"alice": frozenset()} if sets is None else sets,
    )  # fmt: skip
    return [(e.finding.backup_set_id, e.state, e.notify, e.finding.severity) for e in events]


def test_a_deleted_sets_alert_resolves_at_the_severity_it_fired_with() -> None:
    assert decide([snapshot("1")]) == [("1", "resolved", ("ops",), "warning")]


def test_a_silenced_deleted_sets_alert_resolves_quietly() -> None:
    silence = ActiveSilence(1, "failed", "alice", None, NOW + timedelta(days=1))
    assert decide([snapshot("1")], silences=(silence,)) == [("1", "resolved", (), "warning")]


def test_evidence_of_the_day_about_a_set_wins_over_its_absence_from_the_list() -> None:
    ran = Finding(rule="failed", kind="backup_status", severity="warning", firing=True,
                  login="alice", day=day(1), backup_set_id="1", summary="failed again")  # fmt: skip
    assert decide([snapshot("1")], findings=(ran,)) == [("1", "firing", (), "warning")]


def test_only_users_whose_sets_were_listed_lose_alerts_and_only_for_sets_not_listed() -> None:
    listed = {"alice": frozenset({"1"})}
    # set 1 is listed: still firing (every firing alert is reported), nobody told
    assert decide([snapshot("1"), snapshot("2", key="failed|alice|2|")], sets=listed) == [
        ("2", "resolved", ("ops",), "warning"),
        ("1", "firing", (), "warning"),
    ]
    # ListBackupSets not answered for alice: nothing resolves
    assert decide([snapshot("1")], sets={}) == [("1", "firing", (), "warning")]
    assert decide([snapshot("1", state="resolved")]) == []
