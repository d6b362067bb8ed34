"""A state database with a long job history, written in bulk: what the report and the
status page are measured on (``bench/grid.py``).

N users x S sets x D days, a row per set and day as a check writes it (one destination
each), day after day as checks append them, so a day's rows lie together as they do in a
real database. The mix is seeded: about 3% failed, 2% warning, 1% missed days, one set in
ten weekly (``not_due`` on the other days), one user in 500 not checked on a day, and the
users spread over 50 owners (resellers). The schema is the migrations' own (``upgrade``);
rows go in through the table with Core's executemany, ``BATCH`` at a time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert

from cbsalert.state import StateStore
from cbsalert.state.tables import JobHistoryRow

BATCH = 20_000
OWNERS = 50
_TABLE = cast(Table, JobHistoryRow.__table__)


def login(u: int) -> str:
    return f"user{u:05d}"


def owner(u: int) -> str:
    return f"reseller{u % OWNERS:02d}"


def fill(
    url: str, users: int, sets: int, days: int, last: date, seed: int = 5
) -> tuple[int, float]:
    """Create the schema at ``url`` and write the history of the ``days`` days ending with
    ``last``; returns (rows written, seconds taken)."""
    started = time.perf_counter()
    store = StateStore(url)
    written = 0
    try:
        store.upgrade()
        rng = random.Random(seed)
        batch: list[dict[str, Any]] = []
        with store.engine.begin() as connection:
            for n in range(days - 1, -1, -1):
                for row in _day(last - timedelta(days=n), users, sets, rng):
                    batch.append(row)
                    if len(batch) >= BATCH:
                        connection.execute(insert(_TABLE), batch)
                        written += len(batch)
                        batch = []
            if batch:
                connection.execute(insert(_TABLE), batch)
                written += len(batch)
    finally:
        store.close()
    return written, time.perf_counter() - started


def _day(day: date, users: int, sets: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=22)
    recorded = start + timedelta(hours=9)
    for u in range(users):
        name = login(u)
        if rng.random() < 0.002:
            yield _row(name, u, "", None, day, "unchecked", recorded)
            continue
        for s in range(sets):
            set_id = f"{1_600_000_000_000 + u * 10 + s}"
            weekly = (u * sets + s) % 10 == 0
            if weekly and day.weekday() != 6:
                yield _row(name, u, set_id, None, day, "not_due", recorded)
                continue
            draw = rng.random()
            outcome = (
                "failed" if draw < 0.03 else "warning" if draw < 0.05
                else "missed" if draw < 0.06 else "ok"
            )  # fmt: skip
            if outcome == "missed":
                yield _row(name, u, set_id, None, day, outcome, recorded)
                continue
            took = timedelta(minutes=20 + (u % 40))
            yield _row(
                name, u, set_id, f"{set_id}1", day, outcome, recorded,
                job_id=start.strftime("%Y-%m-%d-%H-%M-%S"), mode="S",
                status={"ok": "BS_STOP_SUCCESS", "warning": "BS_STOP_SUCCESS_WITH_WARNING",
                        "failed": "BS_STOP_BY_SYSTEM_ERROR"}[outcome],
                start_time=start, end_time=start + took, duration_s=int(took.total_seconds()),
                errors=1 if outcome == "failed" else 0, warnings=3 if outcome == "warning" else 0,
                new_files=rng.randint(0, 50), updated_files=rng.randint(100, 400),
                deleted_files=rng.randint(0, 5), moved_files=0, new_size=rng.randint(0, 10**7),
                updated_size=rng.randint(10**6, 10**9), deleted_size=0, moved_size=0,
                dedupe_original_size=rng.randint(10**8, 10**10),
            )  # fmt: skip


def _row(login_: str, u: int, set_id: str, dest: str | None, day: date, outcome: str,
         recorded: datetime, **job: Any) -> dict[str, Any]:  # fmt: skip
    row: dict[str, Any] = dict.fromkeys(
        ("job_id", "mode", "status", "start_time", "end_time", "duration_s", "errors",
         "warnings", "new_files", "updated_files", "deleted_files", "moved_files", "new_size",
         "updated_size", "deleted_size", "moved_size", "dedupe_original_size"),
    )  # fmt: skip
    row.update(
        login=login_, owner=owner(u), backup_set_id=set_id,
        backup_set_name=f"{login_} {'Files' if set_id.endswith('0') else 'SQL'}" if set_id
        else None, destination_id=dest, day=day, outcome=outcome, recorded_at=recorded, **job,
    )  # fmt: skip
    return row
