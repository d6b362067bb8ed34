"""Terminal output: the consoles, CBS text made inert, and the tables of what is stored.

Every string from the CBS (and every name a person typed) reaches the terminal as text:

* the consoles parse no markup and no emoji codes, and table cells are ``Text``, so a set
  named ``[/]`` or ``[link=…]`` is printed as those characters, never as rich markup;
* control and format characters (ESC, NUL, bidi overrides, zero-width ones) are shown as
  their escapes (``\\x1b``), so a name cannot clear the screen, colour or reorder the output.

Tables are built to stay readable at 80 columns: one row per item, two columns, the details
stacked in lines that wrap at spaces, so ids, set ids and statuses are never cut (a token is
only folded when it is wider than the whole column). Consoles are made per command, so the
width follows the terminal, or ``$COLUMNS`` (80 when piped). Times are shown in the config's
``timezone`` with the zone's abbreviation (``labels.format_time``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cbsalert.errors import CbsalertError
from cbsalert.labels import failing_phrase, format_time, set_label, severity_badge
from cbsalert.safetext import escape_controls


def visible(value: object, *, multiline: bool = False) -> str:
    """``value`` as printable text: invisible characters become their escapes (line breaks
    too, unless ``multiline``, where a CRLF, as in a mail body, is a line break as well)."""
    text = str(value)
    if multiline:
        return "\n".join(visible(line) for line in text.replace("\r\n", "\n").split("\n"))
    return escape_controls(text)


def text(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """A table cell or line that is only ever text (no markup, no escape sequences)."""
    return Text(visible(value, multiline=multiline), style=style)


def stdout() -> Console:
    return Console(markup=False, emoji=False, highlight=False)


def stderr() -> Console:
    return Console(stderr=True, markup=False, emoji=False, highlight=False)


def print_line(console: Console, message: object, style: str = "") -> None:
    """One message, never hard-wrapped, so that it stays one line for grep and cron mail."""
    console.print(text(message, style), soft_wrap=True)


def print_error(console: Console, exc: CbsalertError) -> None:
    message = Text.assemble(("error:", "bold red"), " ", visible(exc.user_message, multiline=True))
    console.print(message, soft_wrap=True)


def progress_printer(console: Console, total: int) -> Callable[[int, int], None]:
    """``checked 40/800 users`` on one line that rewrites itself, about 20 times a run
    (``total`` is a first guess: the run's own count wins, selected users included)."""

    def show(done: int, total_: int) -> None:
        step = max(1, (total_ or total) // 20)
        if done % step == 0 or done == total_:
            console.print(f"checked {done}/{total_} users", end="\r")

    return show


@contextmanager
def progress_bar(console: Console, what: str) -> Iterator[Callable[[int, int, str], None]]:
    """A bar on ``console`` while the block runs (``backfill``); the block calls
    ``update(done, total, label)``. Only for a terminal: the caller decides."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}", markup=False), BarColumn(),
               MofNCompleteColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{what} {label}")

        yield update


def print_json(doc: object) -> None:
    """Plain indented JSON on stdout. Not rich's ``print_json``: its highlighter makes a
    styled span of every token, several hundred MB for a ten-thousand-user run."""
    json.dump(doc, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def record_table(title: str, head: str, body: str) -> Table:
    """The two-column layout every listing uses: a short head, stacked details."""
    table = Table(title=title, title_justify="left", box=box.ROUNDED, show_lines=True)
    table.add_column(head, overflow="fold")
    table.add_column(body, overflow="fold", ratio=1)
    return table


def lines(*parts: Text | str | None, sep: str = "\n") -> Text:
    """Join the non-empty parts; ``str`` parts are data and go through ``visible``."""
    out = Text()
    for part in parts:
        if not part:
            continue
        if out:
            out.append(sep)
        out.append_text(part if isinstance(part, Text) else text(part))
    return out


def local_time(value: datetime | str | None, zone: str) -> str:
    """A time for a person: in ``zone``, with its abbreviation (``-`` when unknown)."""
    return format_time(value, zone) or "-"


def who(row: Mapping[str, Any]) -> str:
    """``login (owner)``."""
    owner = row.get("owner")
    return f"{row['login']} ({owner})" if owner else str(row["login"])


def backup_set(row: Mapping[str, Any]) -> str:
    """``name · set ID``: the id whole, for `silence --backup-set`."""
    name, set_id = row.get("backup_set_name"), row.get("backup_set_id")
    return f"{name} · set {set_id}" if name and set_id else set_label(dict(row))


# -- the tables of what is stored --------------------------------------------------------------


def stored_alerts_table(rows: Iterable[Mapping[str, Any]], title: str, zone: str) -> Table:
    """`cbsalert alerts`: state, rule, who and which set, since which backup day (and when a
    check noticed it), silences and failed deliveries, the last summary."""
    table = record_table(title, "State", "Alert")
    for row in rows:
        firing = row["state"] == "firing"
        severity = row.get("severity")
        head = lines(
            text(row["state"], "red" if firing else "green"),
            severity_badge(severity, emoji=False) if severity else None,
        )
        when = [failing_phrase(row) or "failing", f"noticed {local_time(row.get('since'), zone)}"]
        if row.get("last_seen"):
            when.append(f"last seen {row['last_seen']}")
        when.append(f"last message {local_time(row.get('last_notified_at'), zone)}")
        if row.get("resolved_at"):
            when.append(f"resolved {local_time(row['resolved_at'], zone)}")
        silenced = None
        if row.get("silenced_until"):
            until = local_time(row["silenced_until"], zone)
            silenced = f"silenced until {until} (silence {row.get('silence_id')})"
        body = lines(
            lines(row["rule"], who(row), sep=" · "),
            backup_set(row),
            " · ".join(when),
            silenced,
            _failed_deliveries(row),
            row.get("summary"),
        )
        table.add_row(head, body)
    return table


def _failed_deliveries(row: Mapping[str, Any]) -> str | None:
    failed = row.get("failed_deliveries") or 0
    if not failed:
        return None
    out = f"{failed} failed deliver{'y' if failed == 1 else 'ies'}: "
    out += str(row.get("last_delivery_error") or "")
    if row.get("permanent_failures"):
        out += f" ({row['permanent_failures']} permanent: retried once a day)"
    return out


def silences_table(rows: Iterable[Mapping[str, Any]], zone: str) -> Table:
    """`cbsalert silences`: what each silence matches, until when, why and who set it."""
    table = record_table("Silences", "ID", "Silence")
    for row in rows:
        matches = f"rule {row['rule']} · login {row['login']} · set {row.get('backup_set') or '*'}"
        until = f"until {local_time(row['until'], zone)}"
        if not row.get("active", True):
            until += " (expired)"
        by = f"by {row['created_by']}" if row.get("created_by") else None
        table.add_row(text(row["id"]), lines(matches, until, row.get("reason"), by))
    return table
