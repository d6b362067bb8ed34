"""A run's report on the terminal: the alerts of ``check`` (and ``demo``), the users that
could not be checked, the summary line. Built from ``terminal``'s inert text and tables.

Severity is its word (``Critical``), coloured, without the messages' emoji: the word is what
a colour-blind reader needs, and emoji widths differ between terminals (a table border
drawn after one is misplaced in some), which cron mail and ``grep`` do not need either."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from cbsalert.labels import (
    days_phrase,
    format_span,
    job_facts,
    severity_badge,
    state_count,
    state_label,
)
from cbsalert.runresult import RunResult
from cbsalert.terminal import backup_set, lines, print_line, record_table, text, who

_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def alerts_table(
    alerts: list[dict[str, Any]], title: str, zone: str, *, show_day: bool = False
) -> Table:
    """``show_day``: the run checked several days (it caught up), so each alert says which."""
    table = record_table(title, "Alert", "Backup")
    for alert in alerts:
        severity = alert["severity"]
        resolved = alert["state"] == "resolved"
        style = "green" if resolved else _SEVERITY_STYLE.get(severity, "")
        head = lines(
            text(severity_badge(severity, emoji=False), style),
            state_label(alert),
            "silenced" if alert.get("silenced") else None,
            alert["date"] if show_day else None,
        )
        facts = lines(format_span(alert, zone), job_facts(alert, alerts), sep=" · ")
        table.add_row(head, lines(who(alert), backup_set(alert), facts, alert["summary"]))
    return table


def print_run(console: Console, result: RunResult) -> None:
    alerts = [e.to_dict() for e in result.reported]
    mode = " (dry run: nothing sent, nothing recorded)" if result.dry_run else ""
    title = f"Backups of {_days(result)} ({result.timezone}){mode}"
    if alerts:
        several = len(result.days) > 1
        console.print(alerts_table(alerts, title, result.timezone, show_day=several))
    else:
        print_line(console, title, "bold")
        print_line(console, "No alerts: every checked backup looks fine.", "green")
    if result.days_not_checked:
        print_line(
            console,
            f"Not checked: the backups of {days_phrase(result.days_not_checked)} (missed "
            "days older than catch_up_days; `cbsalert check --date DAY` checks one).",
            "yellow",
        )
    if result.errors:
        errors = record_table("Users that could not be checked", "Login", "What failed")
        for error in result.errors:
            day = str(error.day) if error.day and len(result.days) > 1 else None
            errors.add_row(lines(error.login, day), lines(error.operation, error.message, sep=": "))
        console.print(errors)
    for problem in result.watch_problems:
        print_line(console, problem, "bold red")
    if result.fatal:
        print_line(console, result.fatal, "bold red")
    print_line(console, summary_line(result))


def summary_line(result: RunResult) -> str:
    counts = result.counts()
    parts = [
        f"checked {result.users_checked}/{result.users_total} users for {_days(result)}",
        "alerts: "
        + ", ".join(
            state_count(state, counts[state])
            for state in ("new", "escalated", "unsilenced", "repeat", "firing", "resolved")
            if counts[state] or state not in ("escalated", "unsilenced")
        ),
        f"{result.api_calls} API calls",
    ]
    if not result.dry_run:
        parts.append(
            f"deliveries: {result.deliveries_sent} sent, {result.deliveries_failed} failed"
        )
    parts.append(f"{result.duration_s:.1f}s")
    return "; ".join(parts)


def _days(result: RunResult) -> str:
    """The days the run checked (several when it caught up), else the day it was for."""
    return days_phrase(result.days or [result.day])
