"""The ``cbsalert silence`` line a message offers (issue 17.6): run through the real command
line, it silences that alert and no other, whatever the CBS named the user and the set."""

from __future__ import annotations

import shlex
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context
from cbsalert.rules import META_RULE_ID
from cbsalert.silenceline import MAX_VALUE, silence_command
from cbsalert.state import open_store
from tests.conftest import config_dict, write_config

NASTY = "acme\x1b[2J`@channel *x*\u202e"
CASES = [
    # (login, set id, set name, a neighbour the silence must not reach: login, set id)
    ("obm", "1687505199600", "Docs", ("obm2", "1687505199600")),
    ("acme*", None, "Daily [SQL]", ("acme-fs", None)),
    ("it's", "set 1", None, ("its", "set 1")),
    (NASTY, f"S{NASTY}", None, ("acme", f"S{NASTY}")),
    # cut to its first MAX_VALUE characters and a *: a shorter login is not reached
    ("u" * 300, None, None, ("u" * (MAX_VALUE - 1), None)),
]


def row(login: str, set_id: str | None, set_name: str | None, now: datetime) -> dict[str, object]:
    """The alert as a message carries it."""
    finding = Finding(
        rule="backup-failed", kind="backup_status", severity="critical", firing=True,
        login=login, day=now.date(), backup_set_id=set_id, backup_set_name=set_name,
        summary="failed",
    )  # fmt: skip
    alert: dict[str, object] = build_context(now.date(), "UTC", [AlertEvent(finding, "new")], now)[
        "alerts"
    ][0]
    return alert


@pytest.mark.parametrize(("login", "set_id", "set_name", "neighbour"), CASES)
def test_the_offered_line_run_as_typed_silences_that_alert_and_not_its_neighbour(
    tmp_path: Path,
    login: str,
    set_id: str | None,
    set_name: str | None,
    neighbour: tuple[str, str | None],
) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict("http://127.0.0.1:9", tmp_path))
    now = datetime.now(UTC)  # the command refuses an --until in the past, by the real clock
    line = row(login, set_id, set_name, now)["silence_command"]
    assert isinstance(line, str) and line.isprintable() and "`" not in line

    words = shlex.split(line)
    assert words[:2] == ["cbsalert", "silence"]
    done = CliRunner().invoke(app, [*words[1:], "-c", str(path)])

    assert done.exit_code == 0, (done.stdout, done.stderr)
    with closing(open_store(f"sqlite:///{tmp_path / 'state.db'}", auto_upgrade=False)) as store:
        [silence] = store.silences.active(now)
    assert silence.matches("backup-failed", login, set_id, set_name, now)
    assert not silence.matches("backup-failed", *neighbour, set_name, now)
    assert not silence.matches("other-rule", login, set_id, set_name, now)
    assert (silence.until - now).days in (6, 7)  # until the day a week ahead starts


def test_the_line_names_the_set_by_id_and_the_meta_alert_by_its_placeholder() -> None:
    until = date(2026, 12, 9)
    alert = {"rule": "backup-failed", "login": "acme-fs", "backup_set_id": "17",
             "backup_set_name": "D:"}  # fmt: skip
    assert silence_command(alert, until) == (
        "cbsalert silence --rule backup-failed --login acme-fs --backup-set 17 "
        "--until 2026-12-09 --reason acknowledged"
    )  # fmt: skip
    meta = silence_command({"rule": META_RULE_ID, "login": "(cbs)"}, until)
    assert meta == (
        f"cbsalert silence --rule {META_RULE_ID} --login '(cbs)' --until 2026-12-09 "
        "--reason acknowledged"
    )
    long = silence_command({"rule": "r", "login": "u" * 1000}, until)
    assert f"--login '{'u' * MAX_VALUE}*'" in long


def test_a_resolved_alert_offers_no_silence_line() -> None:
    now = datetime(2026, 11, 23, 7, tzinfo=UTC)
    finding = Finding(
        rule="r", kind="backup_status", severity="critical", firing=False, login="obm",
        day=now.date(), summary="ok",
    )  # fmt: skip
    [alert] = build_context(now.date(), "UTC", [AlertEvent(finding, "resolved")], now)["alerts"]
    assert alert["silence_command"] is None
