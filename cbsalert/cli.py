"""The command line: parse, call, print — one function per command.

Errors are not handled here: a command raises, and ``cliapp._Cli.invoke`` turns cbsalert's
errors into one ``error: ...`` line and their exit code, for every command in one place.
The global options (``--config``, ``-v``, ``--log-format``) come from ``cliapp`` too, and
the tables and printing from ``terminal`` and ``report``. Here: the commands that check
(and try the flow by hand); ``cliops`` has those an operator uses between checks.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cbsalert import clibackfill, cliops, clireport, cliusers, terminal
from cbsalert.cliapp import Format, FormatOpt, app, db_app, load, options
from cbsalert.errors import EXIT_CONFIG, EXIT_LOCKED, EXIT_STATE, UsageError
from cbsalert.logs import setup_logging


def checkable_day(wanted: date, *, today: date, retention_days: int) -> date:
    """A day ``check --date`` may judge: finished (yesterday at the latest, in the config's
    zone) and within ``retention_days``. A later day would store evidence no daily check
    can resolve; an older one would be pruned as soon as it is written."""
    yesterday = today - timedelta(days=1)
    if wanted > yesterday:
        raise UsageError(
            f"--date {wanted}: only a finished day can be checked; the latest is "
            f"yesterday, {yesterday}"
        )
    oldest = today - timedelta(days=retention_days)
    if wanted < oldest:
        raise UsageError(
            f"--date {wanted} is older than retention_days ({retention_days} days, so "
            f"{oldest} at the earliest): its alerts would be forgotten at once"
        )
    return wanted


@app.command()
def check(
    ctx: typer.Context,
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="Day to check, YYYY-MM-DD (default: yesterday in the config's timezone)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Evaluate and print; send nothing, write nothing.")
    ] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Check one day's backup and restore jobs of the watched users against the rules."""
    from cbsalert.notify.testmsg import check_templates
    from cbsalert.pipeline import run_once
    from cbsalert.report import print_run

    config = load(ctx)
    check_templates(config)
    wanted = None
    if day:
        today = datetime.now(config.zone).date()
        wanted = checkable_day(_date(day), today=today, retention_days=config.retention_days)
    err = terminal.stderr()
    progress = None
    if fmt is Format.text and err.is_terminal and (len(config.watch) > 20 or config.selections):
        progress = terminal.progress_printer(err, len(config.watch))
    result = asyncio.run(run_once(config, day=wanted, dry_run=dry_run, progress=progress))
    if fmt is Format.json:
        terminal.print_json(result.to_json())
    else:
        print_run(terminal.stdout(), result)
    raise typer.Exit(result.exit_code)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date: {text!r} is not a date like 2026-11-22") from None


@app.command()
def serve(
    ctx: typer.Context,
    run_now: Annotated[
        bool, typer.Option("--run-now", help="Also run once at start, then follow the schedule.")
    ] = False,
    shutdown_timeout: Annotated[
        float,
        typer.Option("--shutdown-timeout", help="Seconds a stop waits for the run in progress."),
    ] = 120.0,
) -> None:
    """Run the check on the config's schedule until SIGTERM/SIGINT; SIGHUP reloads the config."""
    from cbsalert.scheduler import serve as serve_scheduled

    if options(ctx).verbose == 0:
        setup_logging(level=logging.INFO)  # a service logs each run; -vv still means debug
    config = options(ctx).config
    raise typer.Exit(serve_scheduled(config, run_now=run_now, shutdown_timeout_s=shutdown_timeout))


@app.command()
def validate(ctx: typer.Context) -> None:
    """Check the config file and render every template with sample alerts."""
    from cbsalert.notify.testmsg import check_templates

    config = load(ctx)
    check_templates(config)
    terminal.print_line(
        terminal.stdout(),
        f"{config.source}: OK — {len(config.watch)} watched users"
        + (f" and {len(config.selections)} selections" if config.selections else "")
        + f", {len(config.rules)} rules, {len(config.notifiers)} notifiers",
    )


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Ask the CBS, the state database and each notifier whether this setup works; send nothing.

    Exit 0 when every check passed, 3 when the CBS cannot be used, 1 for any other failure."""
    from cbsalert.doctor import run_doctor
    from cbsalert.notify.testmsg import check_templates

    config = load(ctx)
    check_templates(config)
    report = run_doctor(config)
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(report.exit_code)


@app.command()
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the demo's state database and print its path.")
    ] = False,
) -> None:
    """Run the whole flow against a simulated CBS and local Slack/email sinks (no network)."""
    from cbsalert.devtools.demo import run_demo

    setup_logging(level=logging.ERROR)
    run_demo(terminal.stdout(), keep=keep)


@app.command()
def simulate(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Simulator data file (YAML or JSON); default: the demo's."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 = any free).")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    latency_ms: Annotated[
        float | None, typer.Option("--latency-ms", help="Added to every answer.")
    ] = None,
) -> None:
    """Run the simulated AhsayCBS by hand (for trying cbsalert without a real server)."""
    from cbsalert.devtools.demo import run_simulator

    run_simulator(terminal.stdout(), data, host=host, port=port, latency_ms=latency_ms)


@app.command()
def sinks(
    slack_port: Annotated[int, typer.Option("--slack-port", help="Slack stand-in's port.")] = 8081,
    smtp_port: Annotated[int, typer.Option("--smtp-port", help="Mail server's port.")] = 2525,
) -> None:
    """Run local stand-ins for Slack and a mail server by hand, printing what arrives."""
    from cbsalert.devtools.demo import run_sinks

    run_sinks(terminal.stdout(), slack_port=slack_port, smtp_port=smtp_port)


# Filling job history for days before the first check (clibackfill) and its grid
# (clireport); which users are watched (cliusers); the commands an operator uses between
# checks (cliops), listed after these by --help.
app.command()(clibackfill.backfill)
app.command()(clireport.report)
app.command()(cliusers.users)
app.command()(cliops.alerts)
app.command()(cliops.silence)
app.command()(cliops.silences)
app.command()(cliops.unsilence)
app.command("test-notify")(cliops.test_notify)
db_app.command("upgrade")(cliops.db_upgrade)


def main() -> None:
    """The ``cbsalert`` program; ``cliapp._Cli.invoke`` maps its errors to exit codes."""
    app()


__all__ = ["EXIT_CONFIG", "EXIT_LOCKED", "EXIT_STATE", "app", "main"]
