"""``cbsalert report``: the grid of the last days read from the state database, as lines for
a terminal, one self-contained HTML page, or JSON.

Read-only: the database must exist (``open_existing_store``; a wrong ``state`` path is
exit 4 naming it, never an empty report that looks like "nothing failed"), and nothing is
written to it. The text form is written as plain lines, not through rich: ten thousand
users are twenty thousand lines, and every CBS name in them has been made inert by
``grid.text`` already.
"""

from __future__ import annotations

import json
import textwrap
from contextlib import closing
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from cbsalert.errors import UsageError
from cbsalert.grid import html, text
from cbsalert.grid.source import (
    GridQuery,
    GridView,
    backfill_command,
    load_grid,
    no_history_line,
)
from cbsalert.grid.summary import headline, summarize
from cbsalert.labels import format_time
from cbsalert.terminal import visible

if TYPE_CHECKING:
    from cbsalert.config import Config

MAX_DAYS = 366


class ReportFormat(StrEnum):
    text = "text"
    html = "html"
    json = "json"


def check_days(config: Config, days: int) -> None:
    """A number of days the history can answer: at least one, and no more than it keeps."""
    if config.history_days == 0:
        raise UsageError(
            "history_days is 0: no job history is kept, so there is nothing to report "
            "(set history_days, e.g. 400, and let checks or `cbsalert backfill` fill it)"
        )
    if not 1 <= days <= min(MAX_DAYS, config.history_days):
        raise UsageError(
            f"--days {days}: give 1 to {min(MAX_DAYS, config.history_days)} (history_days "
            f"keeps {config.history_days} days)"
        )


def read_view(config: Config, query: GridQuery) -> GridView:
    """The grid of ``query`` from the config's state database, which must exist."""
    from cbsalert.state import open_existing_store

    with closing(open_existing_store(config.state, secrets=config.secrets())) as store:
        return load_grid(store.job_history, config.watch, query)


def title(config: Config, view: GridView) -> str:
    query = view.query
    return f"Backups on {config.cbs.name}, {query.first} to {query.end}"


def render(
    config: Config, view: GridView, fmt: ReportFormat, *, width: int, now: datetime | None = None
) -> str:
    """The whole report in ``fmt``, ending with a newline."""
    if fmt is ReportFormat.json:
        return json.dumps(view.to_dict(), ensure_ascii=False) + "\n"
    generated = format_time(now or datetime.now(UTC), config.timezone)
    if fmt is ReportFormat.html:
        note = no_history_line(view)
        notes = [f"{note}: {backfill_command(view)}"] if note else []
        return html.page(view.grid, title=title(config, view), generated=generated, notes=notes)
    return "\n".join(text_lines(config, view, width, generated)) + "\n"


def text_lines(config: Config, view: GridView, width: int, generated: str) -> list[str]:
    """The title, what the grid says in a line, the filters, the grid, and the users
    without history; prose wrapped at ``width``, as the grid is drawn for it."""

    def prose(line: str) -> list[str]:
        return textwrap.wrap(visible(line), width, break_on_hyphens=False) or [""]

    out = prose(f"{title(config, view)} ({config.timezone})")
    out += prose(f"{headline(summarize(view.grid))}; generated {generated}")
    filters = _filters(view.query)
    if filters:
        out += prose(f"only {filters}")
    out.append("")
    out += text.lines(view.grid, width)
    note = no_history_line(view)
    if note:
        out += ["", *prose(note), f"  {backfill_command(view)}"]
    return out


def _filters(query: GridQuery) -> str:
    parts = []
    if query.owner is not None:
        parts.append(f"owner {query.owner}")
    if query.logins:
        parts.append(f"logins {', '.join(query.logins)}")
    if query.only_problems:
        parts.append("backup sets with problems")
    return "; ".join(parts)
