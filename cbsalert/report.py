"""Terminal output: the tables ``check``, ``alerts`` and ``demo`` print (rich)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cbsalert.pipeline import RunResult

_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
_STATE_LABEL = {
    "new": "NEW",
    "escalated": "GOT WORSE",
    "unsilenced": "silence ended",
    "repeat": "reminder",
    "firing": "still firing",
    "resolved": "resolved",
}


def _time(value: str | None, zone: str) -> str:
    """An ISO time in the config's zone, with the zone's abbreviation (CET, not UTC+01:00)."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or ''}".strip()


def _set(alert: dict[str, Any]) -> str:
    name, set_id = alert.get("backup_set_name"), alert.get("backup_set_id")
    if name and set_id:
        return f"{name} ({set_id})"
    return name or set_id or "(all sets)"


def alerts_table(alerts: list[dict[str, Any]], title: str, zone: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for column in ("Severity", "State", "Login", "Backup set", "Status", "Err/Warn", "Started"):
        table.add_column(column, no_wrap=column in ("Severity", "State", "Started"))
    table.add_column("Summary", ratio=1)
    for alert in alerts:
        severity = alert["severity"]
        resolved = alert["state"] == "resolved"
        counts = "-"
        if alert.get("errors") is not None or alert.get("warnings") is not None:
            counts = f"{alert.get('errors') or 0}/{alert.get('warnings') or 0}"
        table.add_row(
            Text(severity, style="green" if resolved else _SEVERITY_STYLE.get(severity, "")),
            _STATE_LABEL.get(alert["state"], alert["state"])
            + (" (silenced)" if alert.get("silenced") else ""),
            alert["login"],
            _set(alert),
            alert.get("status") or "-",
            counts,
            _time(alert.get("start_time"), zone),
            alert["summary"],
        )
    return table


def print_run(console: Console, result: RunResult) -> None:
    alerts = [e.to_dict() for e in result.reported]
    mode = " (dry run: nothing sent, nothing recorded)" if result.dry_run else ""
    title = f"Backups of {result.day.isoformat()} ({result.timezone}){mode}"
    if alerts:
        console.print(alerts_table(alerts, title, result.timezone))
    else:
        console.print(f"[bold]{title}[/]\n[green]No alerts: every checked backup looks fine.[/]")
    if result.errors:
        errors = Table(title="Users that could not be checked", title_justify="left")
        for column in ("Login", "Operation", "Message"):
            errors.add_column(column)
        for error in result.errors:
            errors.add_row(error.login, error.operation, error.message)
        console.print(errors)
    if result.fatal:
        console.print(f"[bold red]{result.fatal}[/]")
    console.print(summary_line(result))


def summary_line(result: RunResult) -> str:
    counts = result.counts()
    parts = [
        f"checked {result.users_checked}/{result.users_total} users for {result.day.isoformat()}",
        f"alerts: {counts['new']} new, "
        + (f"{counts['escalated']} got worse, " if counts["escalated"] else "")
        + (f"{counts['unsilenced']} after a silence, " if counts["unsilenced"] else "")
        + f"{counts['repeat']} reminders, "
        f"{counts['firing']} still firing, {counts['resolved']} resolved",
        f"{result.api_calls} API calls",
    ]
    if not result.dry_run:
        parts.append(
            f"deliveries: {result.deliveries_sent} sent, {result.deliveries_failed} failed"
        )
    parts.append(f"{result.duration_s:.1f}s")
    return "; ".join(parts)


def stored_alerts_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("Rule", "Login", "Backup set", "State", "Since", "Last seen", "Last message"):
        table.add_column(column)
    table.add_column("Failed deliveries")
    for row in rows:
        failed = row.get("failed_deliveries") or {}
        failed_text = "-"
        if failed:
            failed_text = f"{failed}: {row.get('last_delivery_error') or ''}"
            if row.get("permanent_failures"):
                failed_text += f" ({row['permanent_failures']} permanent, not retried)"
        table.add_row(
            row["rule"],
            row["login"],
            _set(row),
            Text(row["state"], style="red" if row["state"] == "firing" else "green"),
            str(row.get("since") or "-")[:16],
            str(row.get("last_seen") or "-"),
            str(row.get("last_notified_at") or "-")[:16],
            failed_text,
        )
    return table
