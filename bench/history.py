"""What keeping job history costs a check (issue 18.9): the main check with history written
(the default) against the same check with ``history_days: 0`` (nothing written), in pairs,
each on a fresh state database; and SQLite's plan for the queries that read the table.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# The queries of cbsalert.state.jobhistory, as SQLite sees them (a user's window; a day's
# users for the report; pruning), with values typical of a check.
QUERIES = {
    "window (rules)": "SELECT * FROM job_history WHERE login IN (?, ?) AND day >= ? AND day < ?",
    "days recorded (backfill)": "SELECT DISTINCT login, day FROM job_history "
    "WHERE login IN (?) AND day >= ? AND day <= ? AND outcome != 'unchecked'",
    "replace a day (record)": "DELETE FROM job_history WHERE login IN (?, ?) AND day = ?",
    "days (report)": "SELECT * FROM job_history WHERE day >= ? AND day <= ?",
    "prune": "DELETE FROM job_history WHERE day < ?",
}


def explain(state: Path, day: date) -> dict[str, str]:
    """Each query's plan on the database a check with history wrote."""
    before, after = (day - timedelta(days=30)).isoformat(), day.isoformat()
    values = {
        "window (rules)": ("user00001", "user00002", before, after),
        "days recorded (backfill)": ("user00001", before, after),
        "replace a day (record)": ("user00001", "user00002", after),
        "days (report)": (before, after),
        "prune": (before,),
    }
    connection = sqlite3.connect(state)
    try:
        connection.execute("ANALYZE")
        return {
            name: " | ".join(
                str(row[-1])
                for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", values[name])
            )
            for name, sql in QUERIES.items()
        }
    finally:
        connection.close()


def rows_kept(state: Path) -> int:
    connection = sqlite3.connect(state)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM job_history").fetchone()[0])
    finally:
        connection.close()


def summary(off: list[dict[str, Any]], on: list[dict[str, Any]]) -> dict[str, Any]:
    """The cost of writing history: wall and in-process run time with it over without, and
    the state store's share (where the writes are)."""

    def total(rows: list[dict[str, Any]], key: str) -> float:
        return sum(float(r.get(key) or 0) for r in rows)

    return {
        "pairs": len(on),
        "wall_ratio": round(total(on, "wall_s") / total(off, "wall_s"), 4),
        "run_ratio": round(total(on, "run_s") / total(off, "run_s"), 4),
        "cpu_ratio": round(total(on, "cpu_s") / total(off, "cpu_s"), 4),
        "state_s_off": round(total(off, "state_s") / len(off), 3),
        "state_s_on": round(total(on, "state_s") / len(on), 3),
        "extra_state_share": round(
            (total(on, "state_s") - total(off, "state_s")) / total(off, "run_s"), 4
        ),
        # What the checks with history spent making and writing its rows (they say so in
        # their log), against the run time of the checks without: the cost itself, which
        # the machine's load does not hide as it hides a few % of wall time.
        "history_s": round(total(on, "history_s") / len(on), 3),
        "history_share": round(total(on, "history_s") / total(off, "run_s"), 4),
    }
