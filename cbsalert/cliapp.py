"""The command group behind ``cli``: options accepted wherever they are typed, and the one
place where cbsalert's errors become exit codes.

``_Cli.invoke`` runs every command (``cbsalert.cli.main`` and the tests' ``CliRunner`` alike);
a ``CbsalertError`` raised anywhere in a command — even after a state store was opened —
becomes one ``error: ...`` line on stderr and the exit code its class carries (the tree is in
``errors``), never a traceback. ``_Cli`` also gives every command the global options
(``--config``, ``-v``, ``--log-format``), so they work before and after the command name; the
values are kept in ``GlobalOptions`` on the click context (the later one wins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cbsalert import __version__, terminal
from cbsalert.config import Config, load_config
from cbsalert.errors import (
    EXIT_CBS,
    EXIT_CONFIG,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STATE,
    CbsalertError,
)
from cbsalert.logs import setup_logging

EXIT_CODES_HELP = f"""
Exit codes: {EXIT_OK} every watched user was checked (alerts or not);
{EXIT_PARTIAL} some users could not be checked, or a delivery failed;
{EXIT_CONFIG} usage or configuration error;
{EXIT_CBS} the CBS could not be used at all (unreachable, bad credentials);
{EXIT_STATE} the state database cannot be used;
{EXIT_LOCKED} another run holds the run lock.
"""


class Format(StrEnum):
    text = "text"
    json = "json"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


@dataclass
class GlobalOptions:
    """The global options as given, wherever on the command line (the later one wins)."""

    config: Path | None = None
    verbose: int = 0
    log_format: LogFormat | None = None

    def apply_logging(self) -> None:
        levels = (logging.WARNING, logging.INFO, logging.DEBUG)
        setup_logging(level=levels[min(self.verbose, 2)], fmt=self.log_format or LogFormat.text)


def options(ctx: typer.Context) -> GlobalOptions:
    return ctx.ensure_object(GlobalOptions)


def _remember_config(ctx: typer.Context, value: Path | None) -> Path | None:
    if value is not None:
        options(ctx).config = value
    return value


def _remember_verbose(ctx: typer.Context, value: int) -> int:
    if value:
        options(ctx).verbose += value
        options(ctx).apply_logging()
    return value


def _remember_log_format(ctx: typer.Context, value: LogFormat | None) -> LogFormat | None:
    if value is not None:
        options(ctx).log_format = value
        options(ctx).apply_logging()
    return value


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", callback=_remember_config,
        help="Config file (YAML); default: $CBSALERT_CONFIG, else ./cbsalert.yaml.",
    ),
]  # fmt: skip
VerboseOpt = Annotated[
    int,
    typer.Option("--verbose", "-v", count=True, callback=_remember_verbose, show_default=False,
                 help="-v info, -vv debug."),
]  # fmt: skip
LogFormatOpt = Annotated[
    LogFormat | None,
    typer.Option("--log-format", callback=_remember_log_format,
                 help="Log lines as text or JSON (for log shippers)."),
]  # fmt: skip
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _global_options(
    config: ConfigOpt = None, verbose: VerboseOpt = 0, log_format: LogFormatOpt = None
) -> None:
    """Only the signature is used: the options every command accepts."""


_GLOBALS = typer.Typer(add_completion=False)
_GLOBALS.command()(_global_options)


class _Cli(TyperGroup):
    """The command group: the global options on every command, one error -> exit-code map."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            if not isinstance(command, TyperGroup):
                for param in typer.main.get_command(_GLOBALS).params:
                    param.expose_value = False  # kept in GlobalOptions by the callbacks
                    command.params.append(param)

    def invoke(self, ctx: Any) -> Any:  # a click Context, which typer vendors privately
        try:
            return super().invoke(ctx)
        except CbsalertError as exc:
            terminal.print_error(terminal.stderr(), exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="cbsalert",
    cls=_Cli,
    help="Tells AhsayCBS operators each morning which backups and restores need a human.\n\n"
    "Options before or after the command: --config FILE, -v, --log-format json." + EXIT_CODES_HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(cls=_Cli, help="Manage the state database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _version(value: bool) -> None:
    if value:
        terminal.print_line(terminal.stdout(), f"cbsalert {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: ConfigOpt = None,
    verbose: VerboseOpt = 0,
    log_format: LogFormatOpt = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    # The options themselves are kept by their callbacks; this sets up logging even when
    # none is given, so that warnings are formatted from the start.
    options(ctx).apply_logging()


def load(ctx: typer.Context) -> Config:
    """The config named by ``--config`` (else ``$CBSALERT_CONFIG``, else ./cbsalert.yaml)."""
    config = load_config(options(ctx).config)
    setup_logging(secrets=config.secrets())
    return config
