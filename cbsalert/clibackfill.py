"""``cbsalert backfill``: parse, call ``cbsalert.backfill``, print. Errors become exit codes
in ``cliapp`` like every command's."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cbsalert import terminal
from cbsalert.cliapp import Format, FormatOpt, load
from cbsalert.errors import UsageError
from cbsalert.labels import days_phrase

if TYPE_CHECKING:
    from cbsalert.backfill import BackfillResult


def backfill(
    ctx: typer.Context,
    days: Annotated[
        int | None, typer.Option("--days", help="Fetch the N days up to yesterday.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Fetch from DATE (YYYY-MM-DD) to yesterday.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch again the days already in history.")
    ] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Fetch past days into job history (for the history rules and reports); no rule is
    evaluated, nothing is sent. A day already in history is skipped, so it can be rerun."""
    from cbsalert.backfill import backfill_range, run_backfill, today_in

    config = load(ctx)
    first, last = backfill_range(
        today_in(config), config.history_days, days=days, since=_since(since)
    )
    err = terminal.stderr()
    showing = fmt is Format.text and err.is_terminal
    with terminal.progress_bar(err, "backfill") if showing else nullcontext() as bar:
        progress = None if bar is None else (lambda n, total, d: bar(n, total, d.isoformat()))
        result = asyncio.run(run_backfill(config, first, last, force=force, progress=progress))
    if fmt is Format.json:
        terminal.print_json(result.to_json())
    else:
        print_backfill(terminal.stdout(), result)
    raise typer.Exit(result.exit_code)


def print_backfill(out: Console, result: BackfillResult) -> None:
    """What was fetched, the users that could not be, and how to go on after a stop."""
    first, last = result.first, result.last
    span = f"{first} to {last}" if first != last else str(first)
    terminal.print_line(
        out,
        f"job history of {span}: {result.fetched} user-days fetched, {result.skipped} "
        f"already in history; {result.rows} rows written; {result.run.api_calls} API calls; "
        f"{result.run.duration_s:.1f}s",
    )
    if result.run.errors:
        errors = terminal.record_table("Users that could not be fetched", "Login", "What failed")
        for error in result.run.errors:
            errors.add_row(
                terminal.lines(error.login, str(error.day) if error.day else None),
                terminal.lines(error.operation, error.message, sep=": "),
            )
        out.print(errors)
    for problem in result.run.watch_problems:
        terminal.print_line(out, problem, "bold red")
    if result.run.fatal:
        terminal.print_line(out, result.run.fatal, "bold red")
    if not result.complete:
        done = f"{days_phrase(result.days)} are in history; " if result.days else ""
        terminal.print_line(
            out,
            f"{done}run the same backfill again to fetch the rest (days in history are skipped)",
            "yellow",
        )


def _since(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since: {text!r} is not a date like 2026-11-22") from None
