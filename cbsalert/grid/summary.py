"""A grid in a few numbers: what the top of a report says, and all a weekly summary or a
Slack message says besides the worst rows.

One definition of the counts, so the terminal, the email, Slack and the status page say
the same thing about the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from cbsalert.grid.model import Grid, rate_text
from cbsalert.labels import number


@dataclass(frozen=True)
class GridSummary:
    users: int
    sets: int
    problems: int  # sets with a failed, missed or warning day
    failing: int  # sets with a failed or missed day
    good: int  # set-days ok or warning
    verdicts: int  # set-days with a verdict
    days: int

    @property
    def rate(self) -> float | None:
        return self.good / self.verdicts if self.verdicts else None

    def to_dict(self) -> dict[str, object]:
        return {
            "users": self.users, "sets": self.sets, "problems": self.problems,
            "failing": self.failing, "rate": self.rate, "days": self.days,
        }  # fmt: skip


def summarize(grid: Grid) -> GridSummary:
    rows = grid.rows
    return GridSummary(
        users=len({row.login for row in rows}),
        sets=len(rows),
        problems=sum(1 for row in rows if row.problem),
        failing=sum(1 for row in rows if row.failures),
        good=sum(row.good for row in rows),
        verdicts=sum(row.verdicts for row in rows),
        days=len(grid.days),
    )


def headline(summary: GridSummary) -> str:
    """``2 of 40 backup sets failed or did not run on some day; 97% of backup days ok``."""
    if not summary.sets:
        return "no backup sets in job history for these days"
    sets = f"{number(summary.sets)} backup set{'' if summary.sets == 1 else 's'}"
    if summary.failing:
        said = f"{number(summary.failing)} of {sets} failed or did not run on some day"
    elif summary.problems:
        said = f"no failures in {sets}; {number(summary.problems)} with warnings"
    else:
        said = f"all {sets} ok" if summary.sets > 1 else f"{sets} ok"
    if summary.rate is None:
        return said
    return f"{said}; {rate_text(summary.rate)} of backup days ok"
