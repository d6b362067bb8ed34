"""Words for people, one definition each: the set label, what an alert's state is called,
counts of states. Templates, the terminal and the rules' summaries all say the same."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from rich.console import Console

from cbsalert import labels, render
from cbsalert.model import AlertEvent, AlertState, Finding, Severity, UserSnapshot
from cbsalert.report import alerts_table, summary_line
from cbsalert.rules import BackupStatusRule
from cbsalert.runresult import RunResult

DAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("fields", "label", "quoted"),
    [
        ({"backup_set_name": "Mail", "backup_set_id": "7"}, "Mail", "'Mail'"),
        ({"backup_set_name": None, "backup_set_id": "7"}, "set 7", "set 7"),
        ({"backup_set_name": None, "backup_set_id": None}, "all backup sets", "all backup sets"),
    ],
)
def test_a_set_is_its_name_else_its_id_else_all_sets_everywhere(
    fields: dict[str, Any], label: str, quoted: str
) -> None:
    shown = render.environment(render.TEXT).from_string("{{ a|setlabel }}").render(a=fields)

    assert (labels.set_label(fields), shown) == (label, label)
    assert labels.set_label(fields, quote=True) == quoted


def test_a_rules_summary_names_a_set_without_a_name_as_the_templates_do() -> None:
    # The rules' own label once said "set None" for a record without a set id.
    rule = BackupStatusRule(id="backup-failed", kind="backup_status")
    fields = {"status": "BS_STOP_BY_SYSTEM_ERROR", "backup_set_id": None, "backup_set_name": None}
    snap = UserSnapshot(login="alice", owner="", day=DAY, expected_sets={}, sets_source="none")

    summary = rule.status_finding(snap, "Backup of", fields).summary

    assert summary == "Backup of all backup sets failed with BS_STOP_BY_SYSTEM_ERROR."


def _event(state: AlertState, previous: Severity | None = None) -> AlertEvent:
    finding = Finding(
        rule="backup-failed", kind="backup_status", severity="warning", firing=True,
        login="alice", day=DAY, backup_set_id="7", backup_set_name="Mail",
        summary="Backup of 'Mail' failed.",
    )  # fmt: skip
    return AlertEvent(finding, state, previous_severity=previous)


def test_the_terminal_says_an_alerts_state_in_the_words_of_the_messages() -> None:
    alert = _event("repeat", "critical").to_dict()
    console = Console(file=io.StringIO(), width=200)

    console.print(alerts_table([alert], "Backups", "UTC"))

    assert labels.state_label(alert) == "still failing, was critical"
    assert "still failing, was critical" in console.file.getvalue()  # type: ignore[attr-defined]


def test_a_runs_summary_counts_each_state_in_the_one_set_of_words() -> None:
    run = RunResult(DAY, "UTC", dry_run=False, users_total=1)
    run.events = [_event("new"), _event("repeat")]

    assert "alerts: 1 new, 1 reminder, 0 still firing, 0 resolved" in summary_line(run)
    assert labels.state_count("repeat", 0) == "0 reminders"


# -- since when it fails (issue 17.1) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "days", "phrase"),
    [
        ("repeat", 3, "failing since Thu 26 Nov, 3 days"),
        ("new", 1, "failing since Thu 26 Nov"),
        ("resolved", 3, "was failing for 3 days, since Thu 26 Nov"),
        ("resolved", 1, "was failing on Thu 26 Nov"),
    ],
)
def test_how_long_an_alert_fails_is_said_in_backup_days_from_its_first(
    state: str, days: int, phrase: str
) -> None:
    alert = {"state": state, "first_failed_day": "2026-11-26", "days_failing": days}
    assert labels.failing_phrase(alert) == phrase
    assert labels.failing_phrase(alert, capital=True) == phrase[0].upper() + phrase[1:]
    shown = render.environment(render.TEXT).from_string("{{ a|failing(capital=true) }}")
    assert shown.render(a=alert) == phrase[0].upper() + phrase[1:]


def test_an_alert_from_an_older_cbsalert_says_nothing_about_since_when() -> None:
    assert labels.failing_phrase({"state": "repeat", "since": "x", "days_failing": 3}) == ""


def test_a_day_reads_the_same_in_every_locale() -> None:
    assert labels.day_label(date(2026, 11, 26)) == labels.day_label("2026-11-26") == "Thu 26 Nov"


def test_a_run_that_checked_no_backup_does_not_name_a_day() -> None:
    run = {"date": "2026-12-02", "days": ["2026-12-02"]}
    assert labels.backups_phrase(run) == "backups of 2026-12-02"
    assert labels.backups_phrase({**run, "backups_checked": False}) == "no backup checked"
