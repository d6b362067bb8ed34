"""The command line: parse, call, print, and map errors to exit codes. Nothing else lives here."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from cbsalert import __version__
from cbsalert.config import Config, load_config
from cbsalert.errors import (
    EXIT_CBS,
    EXIT_CONFIG,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STATE,
    CbsalertError,
    ConfigError,
)
from cbsalert.logs import setup_logging

if TYPE_CHECKING:
    from cbsalert.state import StateStore

EXIT_CODES_HELP = f"""
Exit codes: {EXIT_OK} every watched user was checked (alerts or not);
{EXIT_PARTIAL} some users could not be checked, or a delivery failed;
{EXIT_CONFIG} usage or configuration error;
{EXIT_CBS} the CBS could not be used at all (unreachable, bad credentials);
{EXIT_STATE} the state database cannot be used;
{EXIT_LOCKED} another run holds the run lock.
"""

app = typer.Typer(
    name="cbsalert",
    help="Tells AhsayCBS operators each morning which backups and restores need a human.\n\n"
    "The config file is --config FILE, else $CBSALERT_CONFIG, else ./cbsalert.yaml."
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Manage the state database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Piped output (cron mail, log files) gets a wide table rather than one cut at 80 columns.
out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, highlight=False)


class Format(StrEnum):
    text = "text"
    json = "json"


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (YAML).", envvar="CBSALERT_CONFIG"),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _fail(exc: CbsalertError) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc.user_message}", markup=True, highlight=False)
    raise typer.Exit(exc.exit_code)


def _load(path: Path | None) -> Config:
    try:
        config = load_config(path)
    except ConfigError as exc:
        _fail(exc)
    setup_logging(secrets=config.secrets())
    return config


def _version(value: bool) -> None:
    if value:
        out.print(f"cbsalert {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")
    ] = 0,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log lines as 'text' or 'json' (for log shippers).")
    ] = "text",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    setup_logging(level=level, fmt=log_format)


@app.command()
def check(
    config_path: ConfigOpt = None,
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
    from cbsalert.pipeline import run_once
    from cbsalert.report import print_run

    config = _load(config_path)
    _check_templates(config)
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        _fail(ConfigError(f"--date: {day!r} is not a date like 2026-11-22"))
    progress = None
    if fmt is Format.text and err.is_terminal and len(config.watch) > 20:
        progress = _progress_printer(len(config.watch))
    try:
        result = asyncio.run(run_once(config, day=wanted, dry_run=dry_run, progress=progress))
    except CbsalertError as exc:
        _fail(exc)
    if fmt is Format.json:
        _print_json(result.to_json())
    else:
        print_run(out, result)
    code = result.exit_code
    if code == EXIT_OK and result.deliveries_failed:
        code = EXIT_PARTIAL
    raise typer.Exit(code)


def _print_json(doc: object) -> None:
    """Plain indented JSON on stdout. Not rich's ``print_json``: its highlighter makes a
    styled span of every token, several hundred MB for a ten-thousand-user run."""
    json.dump(doc, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _progress_printer(total: int) -> Callable[[int, int], None]:
    step = max(1, total // 20)

    def show(done: int, total_: int) -> None:
        if done % step == 0 or done == total_:
            err.print(f"checked {done}/{total_} users", end="\r", highlight=False)

    return show


@app.command()
def serve(
    config_path: ConfigOpt = None,
    run_now: Annotated[
        bool, typer.Option("--run-now", help="Also run once at start, then follow the schedule.")
    ] = False,
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="Log lines as 'text' or 'json'.")
    ] = None,
    shutdown_timeout: Annotated[
        float,
        typer.Option("--shutdown-timeout", help="Seconds a stop waits for the run in progress."),
    ] = 120.0,
) -> None:
    """Run the check on the config's schedule until SIGTERM/SIGINT; SIGHUP reloads the config."""
    from cbsalert.scheduler import serve as serve_scheduled

    if logging.getLogger().level > logging.INFO:
        setup_logging(level=logging.INFO)  # a service logs each run; -vv still means debug
    if log_format is not None:
        setup_logging(fmt=log_format)
    try:
        code = serve_scheduled(config_path, run_now=run_now, shutdown_timeout_s=shutdown_timeout)
    except CbsalertError as exc:
        _fail(exc)
    raise typer.Exit(code)


def _check_templates(config: Config) -> None:
    from cbsalert.render import check_templates

    try:
        check_templates(config)
    except ConfigError as exc:
        _fail(exc)


@app.command()
def validate(config_path: ConfigOpt = None) -> None:
    """Check the config file and render every template with sample alerts."""
    config = _load(config_path)
    _check_templates(config)
    out.print(
        f"{config.source}: OK — {len(config.watch)} watched users, {len(config.rules)} rules, "
        f"{len(config.notifiers)} notifiers",
        highlight=False,
    )


@app.command()
def doctor(config_path: ConfigOpt = None) -> None:
    """Ask the CBS, the state database and each notifier whether this setup works; send nothing.

    Exit 0 when every check passed, 3 when the CBS cannot be used, 1 for any other failure."""
    from cbsalert.doctor import run_doctor

    config = _load(config_path)
    _check_templates(config)
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
    from cbsalert.demo import run_demo

    setup_logging(level=logging.ERROR)
    try:
        run_demo(out, keep=keep)
    except CbsalertError as exc:
        _fail(exc)


@app.command()
def simulate(
    data: Annotated[Path, typer.Option("--data", help="Simulator data file (YAML or JSON).")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0 = any free).")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    latency_ms: Annotated[
        float | None, typer.Option("--latency-ms", help="Added to every answer.")
    ] = None,
) -> None:
    """Run the simulated AhsayCBS by hand (for trying cbsalert without a real server)."""
    from cbsalert.simulator import Simulator, load_sim_data

    try:
        sim_data = load_sim_data(data)
    except (OSError, ValueError) as exc:
        _fail(ConfigError(f"{data}: {exc}"))
    if latency_ms is not None:
        sim_data = sim_data.model_copy(update={"latency_ms": latency_ms})
    sim = Simulator(sim_data, host=host, port=port)
    print(f"simulated CBS listening on {sim.url}", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


@app.command()
def alerts(
    config_path: ConfigOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """List firing alerts (with --all, resolved ones too) and failed deliveries."""
    from cbsalert.report import stored_alerts_table

    config = _load(config_path)
    with _store(config) as store:
        rows = store.list_alerts(include_resolved=show_all)
    if fmt is Format.json:
        _print_json(rows)
    elif rows:
        out.print(stored_alerts_table(rows, "Alerts" if show_all else "Firing alerts"))
    else:
        out.print("No alerts." if show_all else "No firing alerts.")


@app.command()
def silence(
    rule: Annotated[str, typer.Option("--rule", help="Rule id (globs allowed).")],
    login: Annotated[str, typer.Option("--login", help="Backup user login (globs allowed).")],
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD or an ISO time.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; shown in `silences`.")],
    backup_set: Annotated[
        str | None, typer.Option("--backup-set", help="Only this backup set id.")
    ] = None,
    config_path: ConfigOpt = None,
) -> None:
    """Silence matching alerts until a time: still tracked, nothing sent."""
    config = _load(config_path)
    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        _fail(ConfigError(f"--until: {until!r} is not a date or time"))
    if end.tzinfo is None:
        end = end.replace(tzinfo=config.zone)
    if end <= datetime.now(UTC):
        _fail(ConfigError(f"--until {until} is in the past"))
    with _store(config) as store:
        silence_id = store.add_silence(
            rule, login, backup_set, until=end, reason=reason, created_by=_whoami()
        )
    out.print(f"silence {silence_id} added until {end.isoformat()}", highlight=False)


@app.command()
def silences(
    config_path: ConfigOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
) -> None:
    """List silences."""
    from rich.table import Table

    config = _load(config_path)
    with _store(config) as store:
        rows = store.list_silences(include_expired=show_all)
    if not rows:
        out.print("No silences.")
        return
    table = Table(title="Silences", title_justify="left")
    for column in ("ID", "Rule", "Login", "Backup set", "Until", "Reason", "By"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]), row["rule"], row["login"], row.get("backup_set") or "*",
            str(row["until"])[:16], row["reason"], row.get("created_by") or "",
        )  # fmt: skip
    out.print(table)


@app.command()
def unsilence(
    silence_id: Annotated[int, typer.Argument(help="Silence id (see `silences`).")],
    config_path: ConfigOpt = None,
) -> None:
    """Remove a silence."""
    config = _load(config_path)
    with _store(config) as store:
        try:
            store.remove_silence(silence_id)
        except CbsalertError as exc:
            _fail(exc)
    out.print(f"silence {silence_id} removed")


@app.command("test-notify")
def test_notify(
    name: Annotated[str, typer.Argument(help="Notifier name from the config.")],
    config_path: ConfigOpt = None,
) -> None:
    """Send a clearly marked test message through one notifier."""
    from cbsalert.render import send_test

    config = _load(config_path)
    if name not in config.notifiers:
        known = ", ".join(config.notifiers) or "none"
        _fail(ConfigError(f"no notifier named {name!r} (known: {known})"))
    try:
        send_test(config, name, datetime.now(UTC))
    except CbsalertError as exc:
        _fail(exc)
    out.print(f"test message sent through {name}")


@db_app.command("upgrade")
def db_upgrade(config_path: ConfigOpt = None) -> None:
    """Create or upgrade the state database schema (Alembic migrations)."""
    from cbsalert.state import StateStore

    config = _load(config_path)
    try:
        store = StateStore(config.state, secrets=config.secrets())
        try:
            store.upgrade()
        finally:
            store.close()
    except CbsalertError as exc:
        _fail(exc)
    out.print("state database is up to date")


class _store:
    """Open the state store for a command, mapping its errors to exit codes."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __enter__(self) -> StateStore:
        from cbsalert.state import open_store

        try:
            self.store = open_store(
                self.config.state, auto_upgrade=True, secrets=self.config.secrets()
            )
        except CbsalertError as exc:
            _fail(exc)
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["EXIT_CONFIG", "EXIT_LOCKED", "EXIT_STATE", "app", "main"]
