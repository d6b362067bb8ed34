"""The command line's contract with a person: one error -> exit-code map, usage errors that
say what to fix, read-only commands that never create a database, times in the config's zone,
and global options wherever they are typed."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cbsalert.cli import app, checkable_day
from cbsalert.devtools.simulator import Simulator
from cbsalert.errors import UsageError
from tests.conftest import config_dict, write_config

DAY = "2026-11-22"
FAILING: dict[str, Any] = {
    "users": [
        {
            "login": "obm",
            "backup_sets": [{"id": "1687505199600", "name": "Docs"}],
            "jobs": [{"set": "1687505199600", "start": "2026-11-22 22:00:00",
                      "end": "2026-11-22 22:10:00", "status": "BS_STOP_BY_SYSTEM_ERROR"}],
        }
    ]
}  # fmt: skip
# A time in the config's zone (Europe/Amsterdam) always carries its abbreviation.
LOCAL_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T"
BOX = re.compile(r"[\u2500-\u257f]")  # a table's lines and corners


def flat(output: str) -> str:
    """A table's text without its lines, as one line: what a person reads across wraps."""
    return " ".join(BOX.sub(" ", output).split())


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def assert_clean_exit(result: Result, code: int) -> None:
    """The exit code is the documented one and no exception escaped (no traceback)."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr


@pytest.fixture
def checked(make_sim: Callable[..., Simulator], tmp_path: Path) -> Path:
    """A config whose state holds one firing alert (obm's failed backup of 2026-11-22)."""
    sim = make_sim(FAILING)
    path = write_config(tmp_path / "c.yaml", config_dict(sim.url, tmp_path))
    assert_clean_exit(invoke("check", "-c", str(path), "--date", DAY), 0)
    return path


# -- 13.10: one error -> exit-code map ---------------------------------------------------------


def test_a_state_error_after_the_store_was_opened_is_exit_4_not_a_traceback(
    checked: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("DROP TABLE delivery_alerts")
    result = invoke("alerts", "-c", str(checked))
    assert_clean_exit(result, 4)
    assert result.stderr.startswith("error: ") and "state database" in result.stderr


def test_unsilence_of_an_unknown_id_is_a_usage_error(checked: Path) -> None:
    result = invoke("unsilence", "99", "-c", str(checked))
    assert_clean_exit(result, 2)
    assert "no silence with id 99" in result.stderr


def test_a_silence_for_a_rule_that_does_not_exist_is_refused_listing_the_rule_ids(
    checked: Path,
) -> None:
    result = invoke("silence", "-c", str(checked), "--rule", "backup-fialed", "--login", "obm",
                    "--until", "2999-01-01", "--reason", "typo")  # fmt: skip
    assert_clean_exit(result, 2)
    assert "backup-fialed" in result.stderr and "backup-failed" in result.stderr
    assert "cbsalert-cbs-unreachable" in result.stderr  # built-in rules can be silenced too
    assert "cbsalert-user-unchecked" in result.stderr
    assert "cbsalert-selection-unresolved" in result.stderr  # its messages offer a silence line
    assert "No silences." in invoke("silences", "-c", str(checked)).stdout


def test_the_unchecked_user_alert_can_be_silenced_by_its_rule_id(checked: Path) -> None:
    result = invoke("silence", "-c", str(checked), "--rule", "cbsalert-user-unchecked",
                    "--login", "gone", "--until", "2999-01-01", "--reason", "gone")  # fmt: skip
    assert_clean_exit(result, 0)


def test_a_silence_whose_glob_matches_a_built_in_rule_is_accepted(checked: Path) -> None:
    result = invoke("silence", "-c", str(checked), "--rule", "cbsalert-*", "--login", "*",
                    "--until", "2999-01-01", "--reason", "CBS maintenance")  # fmt: skip
    assert_clean_exit(result, 0)


def test_alerts_shows_which_alerts_are_silenced_and_until_when(checked: Path) -> None:
    result = invoke("silence", "-c", str(checked), "--rule", "backup-*", "--login", "obm",
                    "--until", "2999-01-01", "--reason", "laptop in repair")  # fmt: skip
    assert_clean_exit(result, 0)
    text = invoke("alerts", "-c", str(checked))
    assert_clean_exit(text, 0)
    assert "silenced until 2999-01-01 00:00 CET (silence 1)" in flat(text.stdout)
    [alert] = json.loads(invoke("alerts", "-c", str(checked), "--format", "json").stdout)
    assert alert["silenced_until"] == "2998-12-31T23:00:00+00:00"
    assert alert["silence_id"] == 1


# -- 13.3: read-only commands never create a database ------------------------------------------


@pytest.mark.parametrize("command", [["alerts"], ["silences"], ["unsilence", "1"]])
def test_a_read_only_command_without_a_database_says_so_and_creates_none(
    tmp_path: Path, command: list[str]
) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict("http://127.0.0.1:9", tmp_path))
    result = invoke(*command, "-c", str(path))
    assert_clean_exit(result, 4)
    message = " ".join(result.stderr.split())
    assert str(tmp_path / "state.db") in message
    assert "cbsalert db upgrade" in message and "cbsalert check" in message
    assert not (tmp_path / "state.db").exists()


# -- 13.6: check --date only for days that can be judged and stored ----------------------------


def test_check_of_a_day_after_yesterday_is_a_usage_error_and_fetches_nothing(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(FAILING)
    path = write_config(tmp_path / "c.yaml", config_dict(sim.url, tmp_path))
    result = invoke("check", "-c", str(path), "--date", "2099-01-01")
    assert_clean_exit(result, 2)
    assert "2099-01-01" in result.stderr and "yesterday" in result.stderr
    assert sim.count() == 0
    assert not (tmp_path / "state.db").exists()


def test_check_of_a_day_older_than_retention_is_a_usage_error(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(FAILING)
    path = write_config(tmp_path / "c.yaml", config_dict(sim.url, tmp_path, retention_days=30))
    result = invoke("check", "-c", str(path), "--date", "2001-01-01", "--dry-run")
    assert_clean_exit(result, 2)
    assert "retention_days" in result.stderr and "30" in result.stderr
    assert sim.count() == 0


@pytest.mark.parametrize(
    ("wanted", "allowed"),
    [
        (date(2026, 11, 28), True),  # yesterday
        (date(2026, 11, 29), False),  # today: the day is not over
        (date(2026, 11, 30), False),
        (date(2026, 10, 30), True),  # exactly retention_days before today
        (date(2026, 10, 29), False),
    ],
)
def test_checkable_days_run_from_retention_to_yesterday(wanted: date, allowed: bool) -> None:
    today = date(2026, 11, 29)
    if allowed:
        assert checkable_day(wanted, today=today, retention_days=30) == wanted
    else:
        with pytest.raises(UsageError):
            checkable_day(wanted, today=today, retention_days=30)


# -- 13.11: every time shown to a person is in `timezone`, with its zone -----------------------


def test_silence_silences_and_alerts_show_times_in_the_config_zone(checked: Path) -> None:
    added = invoke("silence", "-c", str(checked), "--rule", "backup-failed", "--login", "obm",
                   "--until", "2999-06-01T12:00:00+00:00", "--reason", "r")  # fmt: skip
    assert_clean_exit(added, 0)
    assert "until 2999-06-01 14:00 CEST" in added.stdout
    listed = flat(invoke("silences", "-c", str(checked)).stdout)
    assert "2999-06-01 14:00 CEST" in listed and "+00:00" not in listed
    alerts = flat(invoke("alerts", "-c", str(checked)).stdout)
    assert re.search(rf"noticed {LOCAL_TIME}", alerts), alerts
    assert re.search(rf"last message {LOCAL_TIME}", alerts), alerts


# -- 13.13: global options before and after the subcommand -------------------------------------


def test_config_works_before_and_after_the_subcommand(checked: Path) -> None:
    for args in (["--config", str(checked), "validate"], ["validate", "--config", str(checked)],
                 ["-c", str(checked), "alerts"]):  # fmt: skip
        result = invoke(*args)
        assert_clean_exit(result, 0)


@pytest.mark.parametrize("before", [True, False])
def test_verbose_and_log_format_work_before_and_after_the_subcommand(
    make_sim: Callable[..., Simulator], tmp_path: Path, before: bool
) -> None:
    sim = make_sim(FAILING)
    path = write_config(tmp_path / "c.yaml", config_dict(sim.url, tmp_path))
    options = ["-v", "--log-format", "json"]
    check = ["check", "-c", str(path), "--date", DAY, "--dry-run"]
    result = invoke(*(options + check if before else check + options))
    assert_clean_exit(result, 0)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any("does not exist yet" in line["message"] for line in lines), result.stderr


def test_help_lists_the_global_options_once() -> None:
    for args in (["--help"], ["check", "--help"], ["db", "upgrade", "--help"]):
        result = invoke(*args)
        assert_clean_exit(result, 0)
        options = result.stdout.split("Options:")[1].split("Commands:")[0]
        for option in ("--config", "--verbose", "--log-format"):
            assert options.count(option) == 1, (args, option, result.stdout)
