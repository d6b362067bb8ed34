"""`cbsalert check` end to end on the simulated CBS: rules, scoping, days, errors, call counts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.pipeline import RunResult, default_day, run_once
from tests.conftest import config_dict, write_config

DAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

WORLD: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "users": [
        {
            "login": "clean",
            "backup_sets": [{"id": "11", "name": "Docs"}],
            "jobs": [{"set": "11", "start": "D-1 22:00:00", "end": "D-1 22:05:00"}],
        },
        {
            "login": "failed",
            "owner": "reseller1",
            "backup_sets": [{"id": "21", "name": "Files"}, {"id": "22", "name": "SQL"}],
            "jobs": [
                {"set": "21", "start": "D-1 23:00:00", "end": "D-1 23:10:00",
                 "status": "BS_STOP_BY_SYSTEM_ERROR"},
                {"set": "22", "start": "D-1 01:00:00", "end": "D-1 01:10:00",
                 "errors": 4, "warnings": 60},
            ],
        },
        {
            "login": "partly-missed",
            "backup_sets": [{"id": "31", "name": "Documents"}, {"id": "32", "name": "Exchange"},
                            {"id": "33", "name": "Old laptop"}],
            "jobs": [
                {"set": "31", "start": "D-1 21:00:00", "end": "D-1 21:10:00"},
                {"set": "32", "start": "D-1 14:00:00", "end": "D-1 14:10:00", "mode": "M"},
            ],
        },
        {
            "login": "restorer",
            "backup_sets": [{"id": "41", "name": "Projects"}],
            "jobs": [{"set": "41", "start": "D-1 19:00:00", "end": "D-1 19:30:00"}],
            "restores": [{"set": "41", "start": "D-1 11:00:00", "end": "D-1 11:03:00",
                          "status": "RESTORE_STOP_BY_ERROR"}],
        },
        {
            "login": "runner",
            "backup_sets": [{"id": "51", "name": "Video",
                             "destinations": [{"id": "d1"}, {"id": "d2"}]}],
            "jobs": [{"set": "51", "start": "D-1 02:00:00", "end": None}],
        },
    ],
}  # fmt: skip

RULES: list[dict[str, Any]] = [
    {"id": "failed", "kind": "backup_status"},
    {"id": "errors", "kind": "error_count", "threshold": 0, "severity": "warning"},
    {"id": "warnings", "kind": "warning_count", "threshold": 50, "severity": "info"},
    {"id": "missing", "kind": "missing_backup", "modes": ["S"]},
    {"id": "restore", "kind": "restore_status", "severity": "warning"},
    {"id": "stuck", "kind": "long_running", "max_hours": 12},
]


@pytest.fixture
def world(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(WORLD)


def make_config(sim: Simulator, tmp_path: Path, **overrides: Any) -> Config:
    logins = [u.login for u in sim.data.users]
    raw = config_dict(sim.url, tmp_path, watch=[{"login": x} for x in logins], rules=RULES)
    raw.update(overrides)
    return Config.model_validate(raw)


def check(config: Config, day: date = DAY, now: datetime = NOW) -> RunResult:
    return asyncio.run(run_once(config, day=day, dry_run=True, now=now))


def firing(result: RunResult) -> set[tuple[str, str, str | None]]:
    return {
        (e.finding.rule, e.finding.login, e.finding.backup_set_id)
        for e in result.reported
        if e.finding.firing
    }


def test_each_rule_kind_fires_where_it_should_and_nowhere_else(
    world: Simulator, tmp_path: Path
) -> None:
    result = check(make_config(world, tmp_path))
    assert result.errors == []
    assert firing(result) == {
        ("failed", "failed", "21"),
        ("errors", "failed", "22"),
        ("warnings", "failed", "22"),
        ("missing", "partly-missed", "32"),
        ("missing", "partly-missed", "33"),
        ("restore", "restorer", "41"),
        ("stuck", "runner", "51"),
    }
    assert result.exit_code == 0


def test_api_calls_follow_the_documented_formula(world: Simulator, tmp_path: Path) -> None:
    result = check(make_config(world, tmp_path))
    users, sets_ran, job_dests, running = 5, 1 + 2 + 2 + 1 + 1, 1 + 2 + 2 + 1 + 2, 1
    expected = 3 * users + sets_ran + job_dests + running
    assert result.api_calls == expected == world.count()
    assert result.calls_by_operation["GetBackupJobProgress"] == running
    assert world.unexpected == []


def test_a_user_with_several_sets_where_only_one_missed_its_schedule(
    world: Simulator, tmp_path: Path
) -> None:
    config = make_config(
        world, tmp_path, watch=[{"login": "partly-missed", "ignore_sets": ["Old laptop"]}]
    )
    assert firing(check(config)) == {("missing", "partly-missed", "32")}


def test_watch_backup_sets_narrow_what_is_checked(world: Simulator, tmp_path: Path) -> None:
    config = make_config(world, tmp_path, watch=[{"login": "failed", "backup_sets": ["22"]}])
    result = check(config)
    assert firing(result) == {("errors", "failed", "22"), ("warnings", "failed", "22")}
    assert "21" not in {c.params.get("BackupSetID") for c in world.calls}


def test_per_watch_rules_and_applies_to_narrow_rules(world: Simulator, tmp_path: Path) -> None:
    rules = [
        *RULES[:1],
        {"id": "errors", "kind": "error_count", "applies_to": {"backup_sets": ["Files"]}},
        {"id": "missing", "kind": "missing_backup", "applies_to": {"logins": ["nobody*"]}},
    ]
    config = make_config(
        world, tmp_path, rules=rules,
        watch=[{"login": "failed", "rules": ["errors"]}, {"login": "partly-missed"}],
    )  # fmt: skip
    assert firing(check(config)) == set()  # errors on SQL only; missing scoped to nobody*


def test_a_job_that_started_before_midnight_belongs_to_its_start_day(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(
        {"users": [{"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}],
                    "jobs": [{"set": "1", "start": "2026-11-21 23:50:00",
                              "end": "2026-11-22 00:40:00", "status": "BS_STOP_BY_SCHEDULER"}]}]}
    )  # fmt: skip
    config = make_config(sim, tmp_path, rules=RULES[:1] + RULES[3:4])
    on_start_day = check(config, day=date(2026, 11, 21))
    assert firing(on_start_day) == {("failed", "obm", "1")}
    alert = next(e for e in on_start_day.reported if e.finding.rule == "failed")
    assert alert.finding.end_time is not None and alert.finding.end_time.day == 22
    assert firing(check(config, day=DAY)) == {("missing", "obm", "1")}


def test_the_config_timezone_decides_what_yesterday_is(world: Simulator, tmp_path: Path) -> None:
    late_evening_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # already the 23rd in Amsterdam
    assert default_day(make_config(world, tmp_path), late_evening_utc) == DAY
    utc = make_config(world, tmp_path, timezone="UTC")
    assert default_day(utc, late_evening_utc) == date(2026, 11, 21)
    asyncio.run(run_once(utc, dry_run=True, now=late_evening_utc))
    asked = {c.params.get("BackupDate") for c in world.calls if c.operation == "ListBackupJobMode"}
    assert asked == {"2026-11-21"}


def test_times_are_shown_in_the_config_timezone(world: Simulator, tmp_path: Path) -> None:
    result = check(make_config(world, tmp_path))
    alert = next(e for e in result.reported if e.finding.rule == "failed")
    assert alert.to_dict()["start_time"] == "2026-11-22T23:00:00+01:00"


def test_a_day_with_no_jobs_at_all_reports_every_expected_set_missing(
    world: Simulator, tmp_path: Path
) -> None:
    result = check(make_config(world, tmp_path), day=date(2026, 11, 10))
    assert {r for r, *_ in firing(result)} == {"missing"}
    assert len(firing(result)) == 8


def test_a_failing_user_next_to_healthy_ones_is_a_check_error(
    world: Simulator, tmp_path: Path
) -> None:
    config = make_config(world, tmp_path, watch=[{"login": "clean"}, {"login": "ghost"},
                                                  {"login": "failed"}])  # fmt: skip
    result = check(config)
    assert [e.login for e in result.errors] == ["ghost"]
    first_calls = {"ListBackupSets", "ListBackupJobMode", "ListRestoreJobStatus"}
    assert result.errors[0].operation in first_calls
    assert "not found" in result.errors[0].message
    assert ("failed", "failed", "21") in firing(result)
    assert result.exit_code == 1
    assert result.users_checked == 2


def test_wrong_system_credentials_stop_the_run_with_exit_3(
    world: Simulator, tmp_path: Path
) -> None:
    raw = config_dict(world.url, tmp_path, watch=[{"login": "clean"}, {"login": "failed"}],
                      rules=RULES)  # fmt: skip
    raw["cbs"]["sys_password"] = "wrong"
    result = check(Config.model_validate(raw))
    assert result.exit_code == 3
    assert result.fatal is not None and "Incorrect system username/password" in result.fatal
    assert [(e.finding.rule, e.state) for e in result.events] == [
        ("cbsalert-cbs-unreachable", "new")
    ]


def test_an_unreachable_cbs_is_exit_3_and_says_so(tmp_path: Path) -> None:
    raw = config_dict("http://127.0.0.1:9", tmp_path, rules=RULES)
    result = check(Config.model_validate(raw))
    assert result.exit_code == 3
    assert result.fatal is not None and "cannot connect" in result.fatal


def test_old_servers_fall_back_to_sets_seen_in_jobs(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim({**WORLD, "version": "9.5.0.0"})
    result = check(make_config(sim, tmp_path, watch=[{"login": "failed"}]))
    assert result.errors == []
    assert ("failed", "failed", "21") in firing(result)
    assert sim.count("ListBackupSets") == 1
    assert sim.count("GetBackupSet") == 1


def test_check_cli_json_output_has_the_documented_fields(world: Simulator, tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict(world.url, tmp_path, rules=RULES,
                        watch=[{"login": "failed"}, {"login": "runner"}]))  # fmt: skip
    run = CliRunner().invoke(
        app, ["check", "-c", str(path), "--date", "2026-11-22", "--dry-run", "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert {"date", "timezone", "api_calls", "alerts", "errors"} <= set(doc)
    assert doc["date"] == "2026-11-22" and doc["timezone"] == "Europe/Amsterdam"
    assert doc["api_calls"] == world.count()
    fields = {"rule", "kind", "severity", "login", "owner", "backup_set_id", "backup_set_name"}
    fields |= {"destination_id", "job_id", "status", "start_time", "end_time", "summary", "state"}
    assert doc["alerts"] and all(fields <= set(a) for a in doc["alerts"])
    assert {a["state"] for a in doc["alerts"]} == {"new"}
    stuck = next(a for a in doc["alerts"] if a["rule"] == "stuck")
    assert stuck["destination_id"] in {"d1", "d2"} and stuck["status"] == ""


def test_check_cli_text_output_is_a_table_with_a_summary(world: Simulator, tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict(world.url, tmp_path, rules=RULES,
                        watch=[{"login": "failed"}]))  # fmt: skip
    run = CliRunner().invoke(app, ["check", "-c", str(path), "--date", "2026-11-22", "--dry-run"])
    assert run.exit_code == 0, run.output
    assert "BS_STOP_BY_SYSTEM_ERROR" in run.stdout
    assert "checked 1/1 users for 2026-11-22" in run.stdout


def test_check_cli_bad_date_and_bad_config_exit_2(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", {"cbs": {"url": "ftp://x"}})
    run = CliRunner().invoke(app, ["check", "-c", str(path)])
    assert run.exit_code == 2
    assert "c.yaml:1: cbs.url" in run.stderr or "cbs.url" in run.stderr
