"""The commands an operator uses between checks: the alerts and silences in the state
database, its schema, and a test message through one notifier. Plain functions,
registered on the command group by ``cli`` (so ``--help`` lists them after the checks);
errors are mapped to exit codes by ``cliapp``, as for every command.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cbsalert import terminal
from cbsalert.cliapp import Format, FormatOpt, load
from cbsalert.config import Config
from cbsalert.errors import UsageError

if TYPE_CHECKING:
    from cbsalert.state import StateStore


def _existing_store(config: Config) -> closing[StateStore]:
    from cbsalert.state import open_existing_store

    return closing(open_existing_store(config.state, secrets=config.secrets()))


def alerts(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """List firing alerts (with --all, resolved ones too), their silences, failed deliveries."""
    config = load(ctx)
    with _existing_store(config) as store:
        rows = store.list_alerts(include_resolved=show_all)
    out = terminal.stdout()
    if fmt is Format.json:
        terminal.print_json(rows)
    elif rows:
        title = "Alerts" if show_all else "Firing alerts"
        out.print(terminal.stored_alerts_table(rows, title, config.timezone))
    else:
        terminal.print_line(out, "No alerts." if show_all else "No firing alerts.")


def silence(
    ctx: typer.Context,
    rule: Annotated[str, typer.Option("--rule", help="Rule id (globs allowed).")],
    login: Annotated[str, typer.Option("--login", help="Backup user login (globs allowed).")],
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD or an ISO time.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; shown in `silences`.")],
    backup_set: Annotated[
        str | None,
        typer.Option("--backup-set", help="Only this backup set: id or name (globs allowed)."),
    ] = None,
) -> None:
    """Silence matching alerts until a time: still tracked, nothing sent."""
    from cbsalert.rules.builtin import builtin_rules
    from cbsalert.scope import matches
    from cbsalert.state import open_store

    config = load(ctx)
    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        raise UsageError(f"--until: {until!r} is not a date or time") from None
    if end.tzinfo is None:
        end = end.replace(tzinfo=config.zone)
    if end <= datetime.now(UTC):
        raise UsageError(f"--until {until} is in the past")
    rule_ids = [r.id for r in (*config.rules, *builtin_rules(config))]
    if not any(matches(rule, rule_id) for rule_id in rule_ids):
        raise UsageError(f"--rule {rule!r} matches no rule (rule ids: {', '.join(rule_ids)})")
    with closing(open_store(config.state, auto_upgrade=True, secrets=config.secrets())) as store:
        silence_id = store.silences.add(
            rule, login, backup_set, until=end, reason=reason, created_by=_whoami()
        )
    until_text = terminal.local_time(end, config.timezone)
    terminal.print_line(terminal.stdout(), f"silence {silence_id} added until {until_text}")


def silences(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
) -> None:
    """List silences."""
    config = load(ctx)
    with _existing_store(config) as store:
        rows = store.silences.listing(include_expired=show_all)
    out = terminal.stdout()
    if rows:
        out.print(terminal.silences_table(rows, config.timezone))
    else:
        terminal.print_line(out, "No silences.")


def unsilence(
    ctx: typer.Context,
    silence_id: Annotated[int, typer.Argument(help="Silence id (see `silences`).")],
) -> None:
    """Remove a silence."""
    config = load(ctx)
    with _existing_store(config) as store:
        store.silences.remove(silence_id)
    terminal.print_line(terminal.stdout(), f"silence {silence_id} removed")


def test_notify(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Notifier name from the config.")],
) -> None:
    """Send a clearly marked test message through one notifier."""
    from cbsalert.notify.testmsg import send_test

    config = load(ctx)
    if name not in config.notifiers:
        known = ", ".join(config.notifiers) or "none"
        raise UsageError(f"no notifier named {name!r} (known: {known})")
    send_test(config, name, datetime.now(UTC))
    terminal.print_line(terminal.stdout(), f"test message sent through {name}")


def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the state database schema (Alembic migrations)."""
    from cbsalert.state import StateStore

    config = load(ctx)
    with closing(StateStore(config.state, secrets=config.secrets())) as store:
        store.upgrade()
    terminal.print_line(terminal.stdout(), "state database is up to date")


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
