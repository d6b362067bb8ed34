"""The grid of users x backup sets x days, built from job history. Pure: rows in, grid out.

One cell is what a backup day was for one set, all its destinations and jobs together: the
worst of them, because a set that failed on one destination needs a person even if the
other copy is fine. A day with no row for the set is ``not due`` when its user was checked
that day (the set was not expected: a weekly schedule), and ``not checked`` when the user
was not. A row's success rate counts only the days with a verdict (ok, warning, failed,
did not run): a day not due, not checked or still running says nothing either way. A user
with no backup set in any of the days (never checked, or no set known) is one row of its
own, so the user nobody can see into is not the one that is missing. Rows
are worst first (lowest rate, then most failures), so the top of a long report is what needs
a person; owners (resellers) are subtotalled the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from cbsalert.jobhistory import HistoryJob, SetDays
from cbsalert.scope import names_any

Cell = Literal["ok", "warning", "failed", "missed", "running", "not_due", "unchecked"]

# Worst first: the order in which a day's jobs decide its cell.
_WORST: tuple[Cell, ...] = ("failed", "missed", "warning", "running", "unchecked", "ok")
# How the grid says each cell in words (legends, HTML titles, JSON consumers).
CELL_WORDS: dict[Cell, str] = {
    "ok": "ok",
    "warning": "warning",
    "failed": "failed",
    "missed": "did not run",
    "running": "running",
    "not_due": "not due that day",
    "unchecked": "not checked",
}
# The order in which history's outcomes decide a day (``SetDays.ranks``); any other
# outcome (``not_due``) ranks after them: a row that says the user was checked, no more.
RANKED: tuple[str, ...] = _WORST
UNRANKED = len(RANKED)
_RANK: dict[str, int] = {cell: rank for rank, cell in enumerate(RANKED)}
_UNCHECKED = _RANK["unchecked"]
# A ranked outcome's cell; a rank that is None or UNRANKED has none (a dict lookup: the grid
# of 10,000 users makes 280,000 cells).
_RANKED_CELL: dict[int | None, Cell] = dict(enumerate(_WORST))
# The label of a user's row when it has no backup set in the report's days.
NO_SET = "(no backup set)"


@dataclass
class GridRow:
    """One backup set of one user over the report's days (``cells`` in day order; not
    changed after the row is made: its counts are taken then)."""

    login: str
    owner: str
    backup_set_id: str
    backup_set_name: str
    cells: list[Cell]
    _tally: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # (ok, warning, failed or missed) days: counted once, as rows are sorted by them.
        # Not a cached_property: Python 3.11's takes a lock on every first access.
        cells = self.cells
        failures = cells.count("failed") + cells.count("missed")
        self._tally = (cells.count("ok"), cells.count("warning"), failures)

    @property
    def verdicts(self) -> int:
        return sum(self._tally)

    @property
    def good(self) -> int:
        return self._tally[0] + self._tally[1]

    @property
    def failures(self) -> int:
        return self._tally[2]

    @property
    def rate(self) -> float | None:
        """Share of the days with a verdict that were ok or warning; None without any."""
        verdicts = self.verdicts
        return self.good / verdicts if verdicts else None

    @property
    def problem(self) -> bool:
        """Whether a person should look: any failed, missed or warning day."""
        return bool(self._tally[2] or self._tally[1])


@dataclass
class OwnerTotal:
    """A subtotal per owner (reseller): its rows, those with problems, its success rate."""

    owner: str
    rows: int = 0
    problems: int = 0
    good: int = 0
    verdicts: int = 0

    @property
    def rate(self) -> float | None:
        return self.good / self.verdicts if self.verdicts else None


@dataclass
class Grid:
    days: list[date]
    rows: list[GridRow] = field(default_factory=list)
    owners: list[OwnerTotal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``report --format json``): cells as their codes, rates 0 to 1."""
        return {
            "days": [d.isoformat() for d in self.days],
            "rows": [_row_dict(r) for r in self.rows],
            "owners": [
                {"owner": o.owner or None, "rows": o.rows, "problems": o.problems, "rate": o.rate}
                for o in self.owners
            ],
        }


def _row_dict(r: GridRow) -> dict[str, object]:
    return {
        "login": r.login,
        "owner": r.owner or None,
        "backup_set_id": r.backup_set_id,
        "backup_set_name": r.backup_set_name,
        "cells": list(r.cells),
        "rate": r.rate,
        "failures": r.failures,
    }


def report_days(end: date, days: int) -> list[date]:
    """The ``days`` backup days ending with ``end``, oldest first."""
    return [end - timedelta(days=n) for n in range(days - 1, -1, -1)]


def build_grid(
    history: Iterable[HistoryJob],
    days: Sequence[date],
    *,
    owner: str | None = None,
    logins: Sequence[str] = (),
    only_problems: bool = False,
) -> Grid:
    """The grid of ``days`` from history rows (any order; rows of other days are ignored),
    narrowed to one ``owner`` and to logins matching ``logins`` (globs, as ``scope``
    reads them) when given."""
    sets = set_days(history, days, owner=owner)
    return grid_of(sets, days, logins=logins, only_problems=only_problems)


def set_days(
    history: Iterable[HistoryJob], days: Sequence[date], *, owner: str | None = None
) -> list[SetDays]:
    """History rows reduced to one ``SetDays`` per (login, set), ranked by ``RANKED``: what
    ``JobHistory.set_days`` has the database compute for a report of many users."""
    index = {d: i for i, d in enumerate(days)}
    # (login, set id) -> [rank per day, owner, the day of that owner, set name, its day]
    found: dict[tuple[str, str], list[Any]] = {}
    for job in history:
        at = index.get(job.day)
        if at is None or (owner is not None and job.owner != owner):
            continue
        entry = found.get((job.login, job.backup_set_id))
        if entry is None:
            entry = found[(job.login, job.backup_set_id)] = [[None] * len(days), "", -1, None, -1]
        ranks = entry[0]
        rank = _RANK.get(job.outcome, UNRANKED)
        if ranks[at] is None or rank < ranks[at]:
            ranks[at] = rank
        if job.owner and at >= entry[2]:  # the latest day's names, as the CBS says them now
            entry[1], entry[2] = job.owner, at
        if job.backup_set_name and at >= entry[4]:
            entry[3], entry[4] = job.backup_set_name, at
    return [
        SetDays(login, owner_, set_id, name, tuple(ranks))
        for (login, set_id), (ranks, owner_, _, name, _) in found.items()
    ]


def grid_of(
    sets: Iterable[SetDays],
    days: Sequence[date],
    *,
    logins: Sequence[str] = (),
    only_problems: bool = False,
) -> Grid:
    """The grid of the sets' ``days``, narrowed to logins matching ``logins`` (globs).

    A day a set has no row is ``not due`` when its user was checked that day (another
    set, or its user as a whole, has a row other than ``unchecked``), else ``not checked``.
    A user with no backup set in any of the days (it could never be checked, or has no
    set at all) gets one row of its own, set id ``""``, from its rows about the user as a
    whole: the user nobody can see into is the last one to hide."""
    sets = list(sets)
    if logins:
        wanted = {login: names_any(logins, login) for login in {s.login for s in sets}}
        sets = [s for s in sets if wanted[s.login]]
    checked: dict[str, set[int]] = defaultdict(set)  # login -> the days a check saw it
    with_sets: set[str] = set()
    for found in sets:
        checked[found.login].update(
            i for i, rank in enumerate(found.ranks) if rank is not None and rank != _UNCHECKED
        )
        if found.backup_set_id:
            with_sets.add(found.login)
    rows = []
    for found in sets:
        if not found.backup_set_id and found.login in with_sets:
            continue  # the user's own rows are in its sets' cells (checked or not)
        seen = checked[found.login]
        cells: list[Cell] = [
            _RANKED_CELL.get(rank) or ("not_due" if i in seen else "unchecked")
            for i, rank in enumerate(found.ranks)
        ]
        name = found.backup_set_name or found.backup_set_id or NO_SET
        rows.append(GridRow(found.login, found.owner, found.backup_set_id, name, cells))
    rows = [r for r in rows if r.problem] if only_problems else rows
    rows.sort(key=_worst_first)
    return Grid(list(days), rows, _owner_totals(rows))


def _worst_first(row: GridRow) -> tuple[float, int, str, str, str]:
    rate = row.rate if row.rate is not None else 2.0  # no verdict at all: last
    return (rate, -row.failures, row.owner, row.login, row.backup_set_name)


def _owner_totals(rows: Sequence[GridRow]) -> list[OwnerTotal]:
    totals: dict[str, OwnerTotal] = {}
    for row in rows:
        total = totals.setdefault(row.owner, OwnerTotal(row.owner))
        total.rows += 1
        total.problems += row.problem
        total.good += row.good
        total.verdicts += row.verdicts
    return sorted(
        totals.values(),
        key=lambda t: (t.rate if t.rate is not None else 2.0, -t.problems, t.owner),
    )


def rate_text(rate: float | None) -> str:
    """``97%``; ``—`` with no verdict. Never rounds a failure up to 100%."""
    if rate is None:
        return "—"
    percent = int(rate * 100)  # floor: 99.6% of days ok is not "100%"
    return f"{percent}%"


def by_login(rows: Sequence[GridRow]) -> Mapping[str, list[GridRow]]:
    """The rows of each user, for a user's own page."""
    found: dict[str, list[GridRow]] = defaultdict(list)
    for row in rows:
        found[row.login].append(row)
    return found
