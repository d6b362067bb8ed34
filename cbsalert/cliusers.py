"""``cbsalert users``: every user ListUsers lists, and whether it is watched: from which
watch entry, or why not (excluded by which pattern, another client type, suspended, not
selected, a login unfit to use). Asks the CBS exactly what a check's start asks it
(``discovery``), and ListUsers even when no entry selects users, so that a customer missing
from a hand-written watch list shows up. Sends nothing, writes nothing.

Exit codes as ``check``: 0, 1 when the selections cannot be resolved (no ListUsers), 2 for
the config, 3 when the CBS cannot be used.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console

from cbsalert import terminal
from cbsalert.cliapp import Format, FormatOpt, load
from cbsalert.config import Config
from cbsalert.errors import EXIT_OK, EXIT_PARTIAL
from cbsalert.fetch import make_client
from cbsalert.watchlist import Resolution, UserRow, WatchReport

_STYLE = {"named": "green", "selected": "green", "not_listed": "yellow", "unusable": "red"}


def users(
    ctx: typer.Context,
    not_watched: Annotated[
        bool, typer.Option("--not-watched", help="Only the users that are not watched.")
    ] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """List the CBS's users: which are watched, from which watch entry, and why the others not."""
    config = load(ctx)
    found = asyncio.run(_resolve(config))
    report = found.report
    rows = [r for r in report.rows if not (not_watched and r.watched)]
    if fmt is Format.json:
        terminal.print_json(to_json(config, report, rows))
    else:
        print_users(terminal.stdout(), config, report, rows)
    raise typer.Exit(EXIT_PARTIAL if report.problems else EXIT_OK)


async def _resolve(config: Config) -> Resolution:
    from cbsalert.discovery import discover

    async with make_client(config) as client:
        return await discover(config, client, ask=True)


def to_json(config: Config, report: WatchReport, rows: list[UserRow]) -> dict[str, Any]:
    return {
        "server": config.cbs.name,
        "listed": report.listed,
        "counts": report.counts(),
        "problems": list(report.problems),
        "users": [
            {"login": r.login, "owner": r.owner, "watched": r.watched, "status": r.status,
             "reason": r.reason, "entry": r.entry}
            for r in rows
        ],
    }  # fmt: skip


def print_users(console: Console, config: Config, report: WatchReport, rows: list[UserRow]) -> None:
    if rows:
        table = terminal.record_table(f"Users of CBS {config.cbs.name}", "User", "Watched")
        for row in rows:
            word = "watched" if row.watched else "not watched"
            style = _STYLE.get(row.status, "green" if row.watched else "")
            table.add_row(
                terminal.who({"login": row.login, "owner": row.owner}),
                terminal.lines(terminal.text(word, style), row.reason),
            )
        console.print(table)
    for problem in report.problems:
        terminal.print_line(console, problem, "bold red")
    terminal.print_line(console, summary(report))


def summary(report: WatchReport) -> str:
    """One line of counts (``watched 12 (3 named, 9 selected); not watched: 2 excluded``)."""
    c = report.counts()
    head = f"watched {c['watched']} ({c['explicit']} named, {c['selected']} selected)"
    if not report.listed:
        return head + "; ListUsers did not answer: the CBS's other users are unknown"
    others = [
        f"{c[key]} {words}"
        for key, words in (
            ("excluded", "excluded"), ("other_client_type", "of another client type"),
            ("suspended", "suspended"), ("not_selected", "not selected"),
            ("unusable", "with an unusable login"),
        )
        if c[key]
    ]  # fmt: skip
    listed = len(report.rows) - c["not_listed"]
    return f"{listed} users on the CBS; {head}" + (
        "; not watched: " + ", ".join(others) if others else ""
    )
