"""``cbsalert report``: parse, call ``gridreport`` (or send a configured report with
``--send``), write. Errors become exit codes in ``cliapp`` like every command's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cbsalert import terminal
from cbsalert.cliapp import load
from cbsalert.errors import UsageError
from cbsalert.gridreport import ReportFormat

if TYPE_CHECKING:
    from cbsalert.config import Config

DaysOpt = Annotated[int, typer.Option("--days", help="Days up to yesterday to show.")]


def report(
    ctx: typer.Context,
    days: DaysOpt = 14,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="text, one HTML page, or JSON.")
    ] = ReportFormat.text,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's users.")] = None,
    login: Annotated[
        list[str] | None,
        typer.Option("--login", help="Only these logins (globs allowed; repeatable)."),
    ] = None,
    problems: Annotated[
        bool, typer.Option("--problems", help="Only sets with a failed, missed or warning day.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    send: Annotated[
        str | None,
        typer.Option("--send", help="Send the report NAME of the config's `reports:` now."),
    ] = None,
) -> None:
    """The grid of backup sets x days from job history (yesterday and the days before it),
    worst first, with a success rate per set and subtotals per owner. Reads the state
    database only; `cbsalert backfill` fills the days before the first check."""
    from cbsalert.grid.source import GridQuery, last_day
    from cbsalert.gridreport import check_days, read_view, render

    config = load(ctx)
    if send is not None:
        given = [name for name, value in (("--owner", owner), ("--login", login),
                 ("--problems", problems), ("--output", output)) if value]  # fmt: skip
        if given or days != 14 or fmt is not ReportFormat.text:
            raise UsageError(
                f"--send sends report {send!r} as the config describes it: drop "
                f"{', '.join(given) or '--days/--format'}"
            )
        _send(config, send)
        return
    check_days(config, days)
    query = GridQuery(
        end=last_day(config), days=days, owner=owner, logins=tuple(login or ()),
        only_problems=problems,
    )  # fmt: skip
    view = read_view(config, query)
    width = terminal.stdout().width if output is None else 80
    body = render(config, view, fmt, width=width)
    if output is None:
        sys.stdout.write(body)
        sys.stdout.flush()
        return
    try:
        output.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write it: {exc.strerror or exc}") from None
    terminal.print_line(terminal.stderr(), f"report written to {output}")


def _send(config: Config, name: str) -> None:
    from cbsalert.reports.send import send_now

    terminal.print_line(terminal.stdout(), send_now(config, name))
