"""The grid of the watched users, read from the state database: what ``cbsalert report``,
the scheduled reports and the status page show.

The days end with the last finished one, yesterday in the config's ``timezone``: the day a
check judges (``pipeline.default_day``). The database reduces the rows to one per backup
set (``JobHistory.set_days``), with one owner or one exact login narrowed in the query. A watched
user with no row at all in those days (added to the watch list since, never backfilled) is
not in the grid, so it is named apart (``no_history``): an empty row would read as "fine".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cbsalert.grid.model import RANKED, Grid, grid_of, report_days
from cbsalert.scope import names_any

if TYPE_CHECKING:
    from cbsalert.config import Config
    from cbsalert.configsections import WatchEntry
    from cbsalert.state.jobhistory import JobHistory

_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class GridQuery:
    """What to show: the ``days`` ending with ``end``, narrowed as the filters say."""

    end: date
    days: int = 14
    owner: str | None = None
    logins: tuple[str, ...] = ()  # globs, as `report --login` takes them
    login: str | None = None  # one login, exactly (the status page's user page)
    only_problems: bool = False

    @property
    def first(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass
class GridView:
    """The grid and the watched users it cannot show (no history in its days)."""

    grid: Grid
    query: GridQuery
    no_history: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``report --format json``: the grid, the filters and the users without history."""
        query = self.query
        return {
            **self.grid.to_dict(),
            "filters": {
                "owner": query.owner,
                "logins": list(query.logins),
                "only_problems": query.only_problems,
            },
            "no_history": self.no_history,
        }


def last_day(config: Config, now: datetime | None = None) -> date:
    """Yesterday in the config's zone: the last day a check has judged (as ``check``'s
    ``pipeline.default_day``, without importing the pipeline into a read-only command)."""
    return (now or datetime.now(UTC)).astimezone(config.zone).date() - timedelta(days=1)


def load_grid(history: JobHistory, watch: Sequence[WatchEntry], query: GridQuery) -> GridView:
    """The grid of ``query`` from the store's history, and the watched users (within the
    filters) that have no row in its days."""
    exact = query.login
    if exact is None and len(query.logins) == 1 and not _GLOB & set(query.logins[0]):
        exact = query.logins[0]
    sets = history.set_days(query.first, query.end, RANKED, owner=query.owner, login=exact)
    days = report_days(query.end, query.days)
    grid = grid_of(sets, days, logins=query.logins, only_problems=query.only_problems)
    seen = {found.login for found in sets}
    missing = [
        login
        for login, owner in named_users(watch)
        if login not in seen
        and (query.owner is None or owner == query.owner)
        and (not query.logins or names_any(query.logins, login))
        and (query.login is None or login == query.login)
    ]
    return GridView(grid, query, missing)


def named_users(watch: Sequence[WatchEntry]) -> list[tuple[str, str]]:
    """(login, owner) of each watch entry that names one user: the users known without
    asking the CBS (the grid's own rows come from history, whoever checked them)."""
    return [(entry.login, entry.owner) for entry in watch if entry.login]


def no_history_line(view: GridView, limit: int = 10) -> str | None:
    """``3 watched users have no history for these days (a, b, c); to fetch their past
    days, run`` (the command is ``backfill_command``); None when every watched user has
    some."""
    missing = view.no_history
    if not missing:
        return None
    names = ", ".join(missing[:limit])
    if len(missing) > limit:
        names += f", … ({len(missing) - limit} more)"
    who = "watched user has" if len(missing) == 1 else "watched users have"
    return f"{len(missing)} {who} no history for these days ({names}); to fetch it, run"


def backfill_command(view: GridView) -> str:
    return f"cbsalert backfill --days {view.query.days}"
