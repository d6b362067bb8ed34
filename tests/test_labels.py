"""Words for people, one definition each: the set label, what an alert's state is called,
counts of states, severities, CBS statuses and modes, destinations, job facts. Templates,
the terminal and the rules' summaries all say the same."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from rich.console import Console

from cbsalert import cbswords, labels, render
from cbsalert.model import AlertEvent, AlertState, Finding, Severity, UserSnapshot
from cbsalert.notify.slack_text import SLACK
from cbsalert.report import alerts_table, summary_line
from cbsalert.rules import RESOLVED_HINT, BackupStatusRule, MissingBackupRule, hint
from cbsalert.runresult import RunResult
from cbsalert.terminal import stored_alerts_table

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

    assert summary == (
        "Backup of all backup sets stopped by a system error (BS_STOP_BY_SYSTEM_ERROR)."
    )


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


# -- words, not codes (issue 17.7) ------------------------------------------------------------

CRITICAL, WARNING, INFO, RESOLVED = "\U0001f534", "\U0001f7e0", "\U0001f535", "\u2705"


def test_a_severity_is_a_word_with_an_emoji_and_resolved_is_its_own() -> None:
    assert [labels.severity_badge(s) for s in ("critical", "warning", "info", "resolved")] == [
        f"{CRITICAL} Critical", f"{WARNING} Warning", f"{INFO} Info", f"{RESOLVED} Resolved"
    ]  # fmt: skip
    assert labels.severity_badge("critical", emoji=False) == "Critical"
    assert labels.severity_badge("page-me") == "\u2754 page-me"  # unknown: itself
    alert = {"severity": "critical", "state": "resolved"}
    assert labels.alert_badge(alert) == f"{RESOLVED} Resolved"
    assert labels.alert_badge({**alert, "state": "repeat"}) == f"{CRITICAL} Critical"


@pytest.mark.parametrize("flavour", [render.TEXT, render.HTML, SLACK], ids=lambda f: f.name)
def test_every_flavour_shows_the_badge_and_slacks_icon_is_the_same_emoji(
    flavour: render.Flavour,
) -> None:
    env = render.environment(flavour)
    alert = {"severity": "warning", "state": "new"}
    assert env.from_string("{{ a|badge }}").render(a=alert) == f"{WARNING} Warning"
    if flavour is SLACK:
        assert env.from_string("{{ a|icon }}").render(a=alert) == WARNING


def test_the_terminal_says_the_severity_as_a_word_without_emoji() -> None:
    # A word, coloured: emoji are drawn at different widths by different terminals.
    stored = {"state": "firing", "severity": "critical", "rule": "backup-failed",
              "login": "alice", "backup_set_name": "Mail", "since": None}  # fmt: skip
    console = Console(file=io.StringIO(), width=200)
    console.print(alerts_table([_event("new").to_dict()], "Backups", "UTC"))
    console.print(stored_alerts_table([stored], "Alerts", "UTC"))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Warning" in out and "Critical" in out
    assert WARNING not in out and CRITICAL not in out


# Every status MORE-OPERATIONS.md lists (docs/cbs-api), with its words.
DOCUMENTED_STATUSES = [
    "BS_STOP_SUCCESS", "BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_SUCCESS_WITH_ERROR",
    "BS_STOP_BY_USER", "BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_BY_SCHEDULER",
    "BS_STOP_BY_QUOTA_EXCEEDED", "BS_STOP_MISSED_BACKUP", "BS_BACKUP_NOT_FINISHED",
    "BS_SCHEDULE_NOT_FINISHED", "BS_STILL_RUNNING", "BS_MISSED_DATABASAE",
    "BS_MISSED_PUBLIC_FOLDER", "BS_MISSED_VIRTUAL_MACHINE", "RESTORE_STOP_SUCCESS",
    "RESTORE_STOP_SUCCESS_WITH_WARNING", "RESTORE_STOP_SUCCESS_WITH_ERROR",
    "RESTORE_STOP_BY_USER", "RESTORE_STOP_BY_ERROR",
]  # fmt: skip


@pytest.mark.parametrize("status", DOCUMENTED_STATUSES)
def test_every_documented_status_has_words_and_its_constant_once_at_the_end(status: str) -> None:
    words = cbswords.status_words(status)
    assert words and "_" not in words
    assert cbswords.status_phrase(status) == f"{words} ({status})"


def test_a_status_cbsalert_does_not_know_is_itself_and_never_success() -> None:
    assert cbswords.status_phrase("BS_NEW_IN_V11") == "status BS_NEW_IN_V11"
    assert cbswords.status_phrase("") == "an empty status"
    assert cbswords.status_phrase(None) == ""
    assert cbswords.status_phrase("BS_STOP_BY_SYSTEM_ERROR") == (
        "stopped by a system error (BS_STOP_BY_SYSTEM_ERROR)"
    )
    said = cbswords.status_sentence("Backup of", "'Mail'", "BS_NEW_IN_V11", "failed")
    assert said == "Backup of 'Mail' failed with status BS_NEW_IN_V11."
    # A status a rule's ok_statuses accepts is said, not passed off as plain success.
    accepted = cbswords.status_sentence("Backup of", "'Mail'", "BS_STOP_BY_USER", "ok")
    assert accepted == (
        "Backup of 'Mail' was stopped by the user (BS_STOP_BY_USER), which this rule counts "
        "as success."
    )


def test_job_modes_are_words() -> None:
    assert cbswords.modes_phrase(["S"]) == "scheduled"
    assert cbswords.modes_phrase(["S", "M", "R", "X"]) == "scheduled, manual, remote or mode X"
    assert cbswords.missing_set_sentence(["S"], "'Mail'", "2026-11-22", ran=False) == (
        "Scheduled backup of 'Mail' did not run on 2026-11-22."
    )
    assert cbswords.missing_user_sentence(["S", "M"], "acme", "2026-11-22", 0) == (
        "No scheduled or manual backup ran at all for acme on 2026-11-22."
    )
    assert cbswords.missing_user_sentence(["S"], "acme", "2026-11-22", 1) == (
        "acme ran 1 scheduled backup on 2026-11-22."
    )


def test_a_missing_backup_rule_says_scheduled_never_a_mode_letter() -> None:
    rule = MissingBackupRule(id="missing", kind="missing_backup")
    snap = UserSnapshot(login="acme", owner="", day=DAY, expected_sets={"7": "Mail"},
                        sets_source="server")  # fmt: skip
    summaries = [f.summary for f in rule.evaluate(snap, datetime(2026, 11, 23))]
    assert summaries == ["Scheduled backup of 'Mail' did not run on 2026-11-22."]


def test_a_count_summary_says_the_limit_only_when_there_is_one() -> None:
    assert cbswords.count_sentence("'Mail'", "error", 4, 0) == "Backup of 'Mail' logged 4 errors."
    assert cbswords.count_sentence("'Mail'", "warning", 1, 0) == (
        "Backup of 'Mail' logged 1 warning."
    )
    assert cbswords.count_sentence("'Mail'", "error", 4, 2) == (
        "Backup of 'Mail' logged 4 errors, more than the 2 allowed."
    )


def test_counts_are_shown_only_when_they_say_something() -> None:
    assert labels.job_counts({"errors": 0, "warnings": 0}) == ""
    assert labels.job_counts({"errors": None, "warnings": None}) == ""
    assert labels.job_counts({"errors": 12, "warnings": 0}) == "12 errors"
    assert labels.job_counts({"errors": "unknown", "warnings": 1}) == (
        "error count unknown · 1 warning"
    )


def test_a_destination_is_named_and_a_bare_id_says_it_is_one() -> None:
    assert labels.destination_label({"destination_id": "17", "destination_name": "Offsite"}) == (
        "destination Offsite"
    )
    assert labels.destination_label({"destination_id": "17000000000000042"}) == (
        "destination id 17000000000000042"
    )
    assert labels.destination_label({"destination_id": None}) == ""


JOB = {"login": "acme", "backup_set_id": "7", "date": "2026-11-22", "job_id": "J1",
       "start_time": "2026-11-22T22:15:00+01:00"}  # fmt: skip


def test_a_job_id_is_shown_only_when_the_start_time_does_not_tell_the_job_apart() -> None:
    assert labels.job_label(JOB) == ""
    assert labels.job_label({**JOB, "start_time": None}) == "job J1"
    same_minute = {**JOB, "job_id": "J2", "start_time": "2026-11-22T22:15:40+01:00"}
    assert labels.job_label(JOB, [JOB, same_minute]) == "job J1"
    later = {**JOB, "job_id": "J2", "start_time": "2026-11-22T23:15:00+01:00"}
    other_set = {**same_minute, "backup_set_id": "8"}
    assert labels.job_label(JOB, [JOB, later, other_set]) == ""


def test_job_facts_say_each_fact_once_beyond_the_summary() -> None:
    alert = {
        **JOB, "status": "BS_STOP_SUCCESS_WITH_WARNING", "errors": 1, "warnings": 2,
        "destination_id": "17", "destination_name": "Offsite",
        "summary": "Backup of 'Mail' logged 11 errors and 2 warnings.",
    }  # fmt: skip
    assert labels.job_facts(alert) == (
        "completed with warnings (BS_STOP_SUCCESS_WITH_WARNING) · 1 error · destination Offsite"
    )
    said = {**alert, "summary": "Backup completed with warnings (BS_STOP_SUCCESS_WITH_WARNING)."}
    assert labels.job_facts(said).startswith("1 error · 2 warnings")
    assert labels.job_facts({**alert, "status": "BS_STOP_SUCCESS"}).startswith("1 error")


def test_quota_exceeded_gets_its_own_hint_from_the_kinds_that_judge_jobs() -> None:
    quota = {"state": "new", "status": "BS_STOP_BY_QUOTA_EXCEEDED"}
    for kind in ("backup_status", "error_count", "warning_count"):
        assert "raise the user's quota" in hint({**quota, "kind": kind})
    failed = {"state": "new", "kind": "backup_status", "status": "BS_STOP_BY_SYSTEM_ERROR"}
    assert hint(failed) == BackupStatusRule.hint
    assert hint({**quota, "kind": "missing_backup"}) == MissingBackupRule.hint
    assert hint({**quota, "kind": "backup_status", "state": "resolved"}) == RESOLVED_HINT


def test_the_html_summary_shows_the_status_constant_small_and_data_as_text() -> None:
    env = render.environment(render.HTML)
    alert = {"summary": "Backup of '<b>x</b>' stopped by a system error (BS_STOP_BY_SYSTEM_ERROR).",
             "status": "BS_STOP_BY_SYSTEM_ERROR"}  # fmt: skip
    html = env.from_string("{{ a|summary }}").render(a=alert)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert '(<code style="font-size:11px;color:#59636e;">BS_STOP_BY_SYSTEM_ERROR</code>)' in html
    hostile = {"summary": "failed with status <i>X</i>.", "status": "<i>X</i>"}
    assert "<i>" not in env.from_string("{{ a|summary }}").render(a=hostile)


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
