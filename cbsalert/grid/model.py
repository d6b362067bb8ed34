"""The grid of users x backup sets x days, built from job history. Pure: rows in, grid out.

One cell is what a backup day was for one set, all its destinations and jobs together: the
worst of them, because a set that failed on one destination needs a person even if the
other copy is fine. A day with no row for the set is ``not due`` when its user was checked
that day (the set was not expected: a weekly schedule), and ``not checked`` when the user
was not. A row's success rate counts only the days with a verdict (ok, warning, failed,
did not run): a day not due, not checked or still running says nothing either way. Rows
are worst first (lowest rate, then most failures), so the top of a long report is what needs
a person; owners (resellers) are subtotalled the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from cbsalert.jobhistory import HistoryJob
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
_VERDICTS = frozenset({"ok", "warning", "failed", "missed"})
_GOOD = frozenset({"ok", "warning"})


@dataclass
class GridRow:
    """One backup set of one user over the report's days (``cells`` in day order)."""

    login: str
    owner: str
    backup_set_id: str
    backup_set_name: str
    cells: list[Cell]

    @property
    def verdicts(self) -> int:
        return sum(1 for c in self.cells if c in _VERDICTS)

    @property
    def good(self) -> int:
        return sum(1 for c in self.cells if c in _GOOD)

    @property
    def failures(self) -> int:
        return sum(1 for c in self.cells if c in ("failed", "missed"))

    @property
    def rate(self) -> float | None:
        """Share of the days with a verdict that were ok or warning; None without any."""
        return self.good / self.verdicts if self.verdicts else None

    @property
    def problem(self) -> bool:
        """Whether a person should look: any failed, missed or warning day."""
        return any(c in ("failed", "missed", "warning") for c in self.cells)


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
    index = {d: i for i, d in enumerate(days)}
    checked: dict[str, set[int]] = defaultdict(set)  # login -> days it was checked
    outcomes: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for job in history:
        at = index.get(job.day)
        if at is None or (owner is not None and job.owner != owner):
            continue
        if logins and not names_any(logins, job.login):
            continue
        if job.outcome != "unchecked":
            checked[job.login].add(at)
        key = (job.login, job.backup_set_id)
        outcomes[key][at].append(job.outcome)
        old_owner, old_name = names.get(key, ("", ""))
        names[key] = (job.owner or old_owner, job.backup_set_name or old_name)
    rows = []
    for (login, set_id), per_day in outcomes.items():
        if not set_id:  # a user that could not be checked at all: no set, no row of its own
            continue
        cells = [_cell(per_day.get(i, []), i in checked[login]) for i in range(len(days))]
        owner_name, set_name = names[(login, set_id)]
        rows.append(GridRow(login, owner_name, set_id, set_name or set_id, cells))
    rows = [r for r in rows if r.problem] if only_problems else rows
    rows.sort(key=_worst_first)
    return Grid(list(days), rows, _owner_totals(rows))


def _cell(outcomes: Sequence[str], user_checked: bool) -> Cell:
    for cell in _WORST:
        if cell in outcomes:
            return cell
    return "not_due" if user_checked else "unchecked"


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
