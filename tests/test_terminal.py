"""What reaches a terminal: tables that stay readable at 80 columns without cutting what
people copy (ids, set ids, statuses), and CBS text printed as text, never as markup or as
escape sequences."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from cbsalert.cli import app
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.model import CheckError
from cbsalert.pipeline import RunResult
from cbsalert.report import print_run
from cbsalert.terminal import visible
from tests.conftest import config_dict, write_config

DAY = "2026-11-22"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and bold: our own styling, harmless

LOGIN = "head-office-fileserver-amsterdam-01"
SET_ID = "1700000000001234567"
SET_NAME = "Exchange mailboxes of the head office in Amsterdam and the branch in Utrecht"
RULE = "scheduled-backup-status-of-the-night"
STATUSES = ("BS_STOP_SUCCESS_WITH_WARNING", "RESTORE_STOP_SUCCESS_WITH_WARNING")
LONG: dict[str, Any] = {
    "users": [
        {
            "login": LOGIN,
            "backup_sets": [{"id": SET_ID, "name": SET_NAME}],
            "jobs": [{"set": SET_ID, "start": "2026-11-22 22:00:00", "end": "2026-11-22 23:10:00",
                      "status": STATUSES[0], "errors": 12345, "warnings": 67890}],
            "restores": [{"set": SET_ID, "start": "2026-11-22 11:00:00",
                          "end": "2026-11-22 11:30:00", "status": STATUSES[1]}],
        }
    ]
}  # fmt: skip
LONG_RULES = [
    {"id": RULE, "kind": "backup_status"},
    {"id": "errors", "kind": "error_count", "threshold": 0},
    {"id": "restore-failed", "kind": "restore_status"},
]

HOSTILE_NAME = "[/]Docs [link=http://x]y[/link] \x1b[2J\x00 [bold]:smile: end\u202e"
HOSTILE: dict[str, Any] = {
    "users": [
        {
            "login": "obm",
            "backup_sets": [{"id": "1", "name": HOSTILE_NAME}],
            "jobs": [{"set": "1", "start": "2026-11-22 22:00:00", "end": "2026-11-22 22:10:00",
                      "status": "BS_STOP_BY_SYSTEM_ERROR"}],
        }
    ]
}  # fmt: skip


def invoke(*args: str, **env: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env or None)


def assert_fits(text: str, width: int, *whole: str) -> None:
    """No table line wider than ``width``; each of ``whole`` on one line, uncut. (The
    summary line is one long line on purpose: it is for grep, the terminal wraps it.)"""
    lines = [x for x in SGR.sub("", text).splitlines() if not x.startswith("checked ")]
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, "\n".join(too_wide)
    for value in whole:
        assert any(value in line for line in lines), f"{value!r} is cut:\n{text}"


def assert_inert(text: str) -> None:
    """The hostile set name was printed as text: no markup applied, no escape sequence."""
    plain = SGR.sub("", text)
    assert "\x1b" not in plain and "\x00" not in plain and "\u202e" not in plain
    flat = "".join(plain.split())  # the name may wrap
    assert "[/]Docs[link=http://x]y[/link]" in flat
    # records.py already replaces control and bidi characters from the CBS by U+FFFD; the
    # terminal shows what is left as text (terminal.visible is tested on raw ones below).
    assert "\ufffd[2J\ufffd[bold]:smile:end\ufffd" in flat


def test_check_and_alerts_fit_80_columns_without_cutting_ids_or_statuses(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(LONG)
    raw = config_dict(sim.url, tmp_path, rules=LONG_RULES, watch=[{"login": LOGIN}])
    path = write_config(tmp_path / "c.yaml", raw)
    check = invoke("check", "-c", str(path), "--date", DAY, COLUMNS="80")
    assert check.exit_code == 0, check.output
    assert_fits(check.stdout, 80, LOGIN, SET_ID, *STATUSES, "12345", "67890")

    alerts = invoke("alerts", "-c", str(path), COLUMNS="80")
    assert alerts.exit_code == 0, alerts.output
    assert_fits(alerts.stdout, 80, LOGIN, SET_ID, RULE, "restore-failed")

    silence = ["silence", "-c", str(path), "--rule", RULE, "--login", LOGIN,
               "--backup-set", SET_ID, "--until", "2999-01-01", "--reason", SET_NAME]  # fmt: skip
    assert invoke(*silence).exit_code == 0
    silences = invoke("silences", "-c", str(path), COLUMNS="80")
    assert silences.exit_code == 0, silences.output
    assert_fits(silences.stdout, 80, LOGIN, SET_ID, RULE)


def test_a_hostile_set_name_is_printed_as_text_by_check_and_alerts(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(HOSTILE)
    raw = config_dict(sim.url, tmp_path, notifiers={"ops": {"type": "slack",
                      "webhook_url": slack.url}})  # fmt: skip
    raw["rules"][0]["notify"] = ["ops"]
    path = write_config(tmp_path / "c.yaml", raw)
    check = invoke("check", "-c", str(path), "--date", DAY, FORCE_COLOR="1", COLUMNS="120")
    assert check.exit_code == 0, (check.output, check.exception)
    assert len(slack.messages) == 1
    assert_inert(check.stdout)
    assert "\x1b]8;" not in check.stdout  # no terminal hyperlink

    alerts = invoke("alerts", "-c", str(path), FORCE_COLOR="1", COLUMNS="120")
    assert alerts.exit_code == 0, (alerts.output, alerts.exception)
    assert_inert(alerts.stdout)
    assert "\x1b]8;" not in alerts.stdout


@pytest.mark.parametrize("width", [80, 200])
def test_a_run_report_prints_cbs_errors_and_the_fatal_reason_as_text(width: int) -> None:
    result = RunResult(date(2026, 11, 22), "Europe/Amsterdam", dry_run=True, users_total=2)
    result.errors = [CheckError("obm", "ListBackupSets", f"Internal error {HOSTILE_NAME}")]
    result.fatal = f"the CBS cannot be used: {HOSTILE_NAME}"
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True)
    print_run(console, result)
    text = buffer.getvalue()
    assert text.count("[/]Docs") == 2
    assert "\x1b[2J" not in text and "\x00" not in text and "\x1b]8;" not in text


def test_a_mail_body_with_crlf_line_ends_shows_as_lines_not_escapes() -> None:
    assert visible("a\r\nb\nc\rd", multiline=True) == "a\nb\nc\\rd"
