"""Job history as plain data: what the rules that compare a job with its past read.

One ``HistoryJob`` is one day's outcome for one backup set on one destination, as a check
saw it: a job (with its counts and sizes from GetBackupJobReportSummary), a set that did
not run, or a user that could not be checked. The state store writes them (the
``job_history`` table) and reads them back; ``UserSnapshot.history`` carries the past of a
user's sets into ``evaluate``, so the history rule kinds (``no_change``, ``change_spike``,
``duration``) stay pure functions of the day's records plus this data, like every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, NamedTuple

# What a day was for a set: the job's verdict (``ok``, ``warning``, ``failed``), a job still
# ``running`` at the check, ``missed`` (an expected set with no job that day), ``not_due``
# (an expected set with no job on a day its schedule does not run it: the rules' ``due``)
# or ``unchecked`` (the user could not be checked that day).
Outcome = Literal["ok", "warning", "failed", "running", "missed", "not_due", "unchecked"]

# A set's history is kept per destination: (backup set id, destination id or None).
SetKey = tuple[str, str | None]


@dataclass(frozen=True)
class HistoryJob:
    """One job (or one missing job) of one set and destination on one backup day.

    Counts and sizes are ``None`` when the CBS did not give them or they could not be read:
    unknown, never zero (a rule must not take an unreadable count for "nothing changed").
    A row about the user as a whole (``unchecked``, or ``missed``/``not_due`` for a user
    with no set known and no job) has ``backup_set_id`` ``""``; ``missed``, ``not_due`` and
    ``unchecked`` rows have no destination (``None``): only a set that ran is asked for its
    destinations. ``owner`` and ``backup_set_name`` are as that day's check saw them.
    """

    login: str
    backup_set_id: str
    destination_id: str | None
    day: date
    outcome: Outcome
    owner: str = ""
    backup_set_name: str | None = None
    job_id: str | None = None
    mode: str | None = None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    errors: int | None = None
    warnings: int | None = None
    new_files: int | None = None
    updated_files: int | None = None
    deleted_files: int | None = None
    new_size: int | None = None
    updated_size: int | None = None
    deleted_size: int | None = None
    # Added with the job_history table: the rest of the job's report.
    moved_files: int | None = None
    moved_size: int | None = None
    dedupe_original_size: int | None = None

    @property
    def duration_s(self) -> float | None:
        """The job's run time in seconds, when both ends are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def changed_files(self) -> int | None:
        """New + updated + deleted files, or None when any of them is unknown."""
        parts = (self.new_files, self.updated_files, self.deleted_files)
        return None if any(p is None for p in parts) else sum(p or 0 for p in parts)


class SetDays(NamedTuple):
    """One backup set of one user over a run of days, as the status grid reads history:
    ``ranks`` holds, per day, the position of that day's worst outcome in the order the
    reader asked for (that order's length for an outcome not in it, ``not_due``), or None
    when the day has no row. ``owner`` and ``backup_set_name`` are the latest day's that
    has them. A set id ``""`` is the rows about the user as a whole."""

    login: str
    owner: str
    backup_set_id: str
    backup_set_name: str | None
    ranks: tuple[int | None, ...]
