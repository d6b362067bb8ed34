"""Job history for the report, status page and scheduled report tests, written through the
real ``JobHistory.record``: a set's days as a short string, one letter a day, oldest first,
ending with the report's last day (yesterday in the config's zone)::

    days("alice", "1", "ooofo-m")   # ok, ok, ok, failed, ok, no row, missed

o ok · w warning · f failed · m missed · r running · n not_due · u unchecked (user row) ·
- no row that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cbsalert.jobhistory import HistoryJob, Outcome
from cbsalert.state import StateStore

LETTERS: dict[str, Outcome] = {
    "o": "ok", "w": "warning", "f": "failed", "m": "missed", "r": "running", "n": "not_due",
    "u": "unchecked",
}  # fmt: skip
ZONE = "Europe/Amsterdam"


def yesterday(zone: str = ZONE) -> date:
    """The report's last day: yesterday in the config's zone (as `check` judges it)."""
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date() - timedelta(days=1)


def days(login: str, set_id: str, letters: str, *, owner: str = "", name: str | None = None,
         end: date | None = None) -> list[HistoryJob]:  # fmt: skip
    """One row per letter but ``-``; the last letter is ``end`` (default: yesterday)."""
    last = end or yesterday()
    rows = []
    for n, letter in enumerate(reversed(letters)):
        if letter == "-":
            continue
        outcome = LETTERS[letter]
        ran = outcome in ("ok", "warning", "failed", "running")
        rows.append(
            HistoryJob(
                login=login,
                backup_set_id="" if outcome == "unchecked" else set_id,
                destination_id="D1" if ran else None,
                day=last - timedelta(days=n),
                outcome=outcome,
                owner=owner,
                backup_set_name=name or f"Set {set_id}",
                job_id=f"job-{n}" if ran else None,
            )
        )
    return rows


def write(url: str, rows: Iterable[HistoryJob]) -> None:
    """Create the schema at ``url`` (when missing) and record ``rows`` as checks would."""
    with closing(StateStore(url)) as store:
        store.upgrade()
        store.job_history.record(list(rows))
