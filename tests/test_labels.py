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


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (999, "999"), (12_400, "12,400"), (299.5, "300")]
)
def test_a_number_reads_with_thousands_separators(value: float, text: str) -> None:
    assert labels.number(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(512, "512 bytes"), (1536, "1.5 KB"), (1_288_490_188, "1.2 GB"), (48 * 1024**3, "48 GB"),
     (1023 * 1024**2, "1,023 MB"), (5 * 1024**4, "5 TB")],
)  # fmt: skip
def test_a_size_reads_in_units_of_1024(value: int, text: str) -> None:
    assert labels.data_size(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59.4, "59 s"), (90, "2 min"), (2700, "45 min"), (3600, "1 h"),
     (18_600, "5 h 10 min"), (3599.7, "1 h")],
)  # fmt: skip
def test_a_run_time_reads_in_hours_and_minutes(seconds: float, text: str) -> None:
    assert labels.run_time(seconds) == text
