"""Job history in the state database: what every check saw, kept ``history_days``.

``JobHistory`` is one part of the state store (``StateStore.job_history``). A check (and
``cbsalert backfill``) writes what it saw with ``record``, a later check's verdict on a job
that was still running with ``judged``; the history rule kinds read ``window``, backfill
``days_recorded``, the report and the status page ``set_days``. Every read and write is a
bulk statement per chunk of users (``storage.CHUNK``), never one per user: ten thousand
users are a few dozen statements. Rows go in and out as ``cbsalert.jobhistory.HistoryJob``,
plain data (the grid's reduction of them as ``SetDays``).

A user's day is what its latest check saw: a check's rows replace those stored for the same
user and day, so checking a day again (``check --date``, a catch-up after a crash, backfill
``--force``) never doubles it. A user that could not be checked gets an ``unchecked`` row
only where its day has none yet: a failure never hides what an earlier check of that day saw.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, String, Table, and_, case, delete, func, insert, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from cbsalert.jobhistory import HistoryJob, Outcome, SetDays, SetKey
from cbsalert.records import ID_MAX, safe_id, safe_text
from cbsalert.safetext import UNSAFE_CHARS
from cbsalert.state.storage import CHUNK, Storage, chunks, rowcount
from cbsalert.state.tables import JobHistoryRow as T

# Every column but the surrogate key and the time of writing: a HistoryJob's fields.
_FIELDS = (
    "login", "owner", "backup_set_id", "backup_set_name", "destination_id", "day", "job_id",
    "mode", "outcome", "status", "start_time", "end_time", "errors", "warnings", "new_files",
    "updated_files", "deleted_files", "new_size", "updated_size", "deleted_size",
    "moved_files", "moved_size", "dedupe_original_size",
)  # fmt: skip
_COLUMNS = tuple(getattr(T, name) for name in _FIELDS)
_DAY_PREFIX = len("2026-11-30|")
# Inserted through the table, not the mapped class: a check writes thousands of rows, and
# Core's executemany skips the ORM's work per row.
_TABLE = cast(Table, T.__table__)
UNCHECKED: Outcome = "unchecked"
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_IDS = ("backup_set_id", "destination_id", "job_id")
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")


class JobHistory:
    """The ``job_history`` table: ``record``, ``judged``, ``window``, ``days_recorded``,
    ``between``, ``set_days`` and ``prune``."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def record(self, rows: Iterable[HistoryJob]) -> int:
        """Store what a check saw, in one transaction; returns the rows inserted.

        For each user and day with a row of a check (anything but ``unchecked``), its rows
        replace the stored ones of that user and day; ``unchecked`` rows are added only for
        a user and day with no row yet. Give all of one user's rows of a day in one call."""
        days: dict[date, dict[str, list[HistoryJob]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            days[row.day][row.login].append(row)
        now = self._storage.now()
        written = 0
        with self._storage.write() as s:
            for day, users in sorted(days.items()):
                seen = sorted(u for u, jobs in users.items() if _checked(jobs))
                for chunk in chunks(seen):
                    s.execute(delete(T).where(T.login.in_(chunk), T.day == day))
                fresh = [job for login in seen for job in users[login] if job.outcome != UNCHECKED]
                missing = sorted(set(users) - set(seen))
                for chunk in chunks(missing):
                    query = select(T.login).where(T.login.in_(chunk), T.day == day).distinct()
                    known = set(s.scalars(query))
                    fresh += [users[login][0] for login in chunk if login not in known]
                written += _insert(s, fresh, now)
        return written

    def judged(self, rows: Iterable[HistoryJob]) -> int:
        """A later check's verdict on jobs that were still running at their day's check
        (``cbsalert.carryover``): each row replaces the stored row of its job (login, day,
        set, job id and destination), or is added when there is none (its day's rows were
        written before history was kept). Returns the rows inserted."""
        fresh = list(rows)
        with self._storage.write() as s:
            for start in range(0, len(fresh), CHUNK):
                part = fresh[start : start + CHUNK]
                s.execute(delete(T).where(or_(*(_same_job(job) for job in part))))
            return _insert(s, fresh, self._storage.now())

    def window(
        self, logins: Sequence[str], before: date, days: int
    ) -> dict[str, dict[SetKey, list[HistoryJob]]]:
        """Per login asked (each one, ``{}`` when it has none), its rows of the ``days`` days
        before ``before`` (``before`` itself excluded), per (set id, destination id), oldest
        first: by day, start time, job id. What ``UserSnapshot.history`` holds."""
        out: dict[str, dict[SetKey, list[HistoryJob]]] = {login: {} for login in logins}
        if days <= 0:
            return out
        first = before - timedelta(days=days)
        with self._storage.read() as s:
            for chunk in chunks(sorted(set(logins))):
                query = select(*_COLUMNS).where(T.login.in_(chunk), T.day >= first, T.day < before)
                for row in s.execute(query):
                    job = _decode(row)
                    out[job.login].setdefault((job.backup_set_id, job.destination_id), []).append(
                        job
                    )
        for sets in out.values():
            for jobs in sets.values():
                jobs.sort(key=_order)
        return out

    def days_recorded(self, logins: Sequence[str], first: date, last: date) -> dict[str, set[date]]:
        """Per login that has any, the days from ``first`` to ``last`` (both included) that a
        check or backfill saw: a day with only an ``unchecked`` row is not one."""
        out: dict[str, set[date]] = {}
        with self._storage.read() as s:
            for chunk in chunks(sorted(set(logins))):
                query = (
                    select(T.login, T.day)
                    .where(T.login.in_(chunk), T.day >= first, T.day <= last)
                    .where(T.outcome != UNCHECKED)
                    .distinct()
                )
                for login, day in s.execute(query):
                    out.setdefault(login, set()).add(day)
        return out

    def between(self, first: date, last: date) -> list[HistoryJob]:
        """Every row of the days from ``first`` to ``last`` (both included), by login, set,
        destination, then as ``window`` orders them: the report's grid."""
        query = select(*_COLUMNS).where(T.day >= first, T.day <= last)
        with self._storage.read() as s:
            jobs = [_decode(row) for row in s.execute(query)]
        jobs.sort(key=lambda j: (j.login, j.backup_set_id, j.destination_id or "", *_order(j)))
        return jobs

    def set_days(
        self,
        first: date,
        last: date,
        order: Sequence[str],
        *,
        owner: str | None = None,
        login: str | None = None,
    ) -> list[SetDays]:
        """Each (login, set) with rows in the days from ``first`` to ``last`` (both
        included), its days ranked by ``order`` (worst first; see ``SetDays``), narrowed to
        one ``owner`` and one exact ``login`` when given; in no order.

        The status grid of ten thousand users: the database reduces the 280,000 rows of 14
        days to 20,000 (one GROUP BY, a MIN per day), instead of Python reading each row."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        rank = case({outcome: n for n, outcome in enumerate(order)}, value=T.outcome,
                    else_=len(order))  # fmt: skip
        per_day = [func.min(case((T.day == day, rank))) for day in days]
        names = (_latest(T.owner), _latest(T.backup_set_name))
        query = (
            select(T.login, T.backup_set_id, *names, *per_day)
            .where(T.day >= first, T.day <= last)
            .group_by(T.login, T.backup_set_id)
        )
        if owner is not None:
            query = query.where(T.owner == owner)
        if login is not None:
            query = query.where(T.login == login)
        with self._storage.read() as s:  # Core, not the ORM: no per-row loading
            rows = s.connection().execute(query).all()
        return [
            SetDays(row[0], _unday(row[2]) or "", row[1], _unday(row[3]), tuple(row[4:]))
            for row in rows
        ]

    def prune(self, cutoff: date) -> int:
        """Forget the days before ``cutoff``; returns the rows deleted."""
        with self._storage.write() as s:
            return rowcount(s.execute(delete(T).where(T.day < cutoff)))


def _latest(column: Any) -> Any:
    """The value of ``column`` on the latest day that has one (not NULL, not empty), as
    ``YYYY-MM-DD|value``: MAX of the day and the value together, which every backend does
    in one aggregate (the day's ISO text sorts as the day)."""
    return func.max(case((column != "", sql_cast(T.day, String) + "|" + column)))


def _unday(value: str | None) -> str | None:
    """The value of ``_latest`` without its day; None for none."""
    return value[_DAY_PREFIX:] or None if value else None


def _checked(jobs: list[HistoryJob]) -> bool:
    return any(job.outcome != UNCHECKED for job in jobs)


def _same_job(job: HistoryJob) -> Any:
    destination = (
        T.destination_id.is_(None)
        if job.destination_id is None
        else T.destination_id == _fit(job.destination_id)
    )
    return and_(
        T.login == job.login, T.day == job.day, T.backup_set_id == _fit(job.backup_set_id),
        T.job_id == _fit(job.job_id), destination,
    )  # fmt: skip


def _insert(s: Session, jobs: Sequence[HistoryJob], now: datetime) -> int:
    for start in range(0, len(jobs), CHUNK * 4):
        s.execute(insert(_TABLE), [_encode(job, now) for job in jobs[start : start + CHUNK * 4]])
    return len(jobs)


def _encode(job: HistoryJob, now: datetime) -> dict[str, Any]:
    """A row: the text clipped to its column and cleaned once more (records.py cleaned what
    the CBS sent; a row built elsewhere gets the same treatment), the duration in seconds."""
    row = {name: getattr(job, name) for name in _FIELDS}
    for name in _IDS:
        row[name] = _fit(row[name])
    for name in ("owner", "backup_set_name", "mode", "status"):
        if row[name] is not None:
            row[name] = safe_text(row[name], 255 if name == "owner" else 500)
    duration = job.duration_s
    row["duration_s"] = None if duration is None else round(duration)
    row["recorded_at"] = now
    return row


def _fit(value: str | None) -> str | None:
    """An id as records.py makes it (``safe_id``) when it would not fit its column or holds
    what a database refuses; records.py's own ids (rewritten ones too) pass unchanged."""
    if value is None or (len(value) <= ID_MAX and not _UNSAFE.search(value)):
        return value
    return safe_id(value)


def _decode(row: Row[Any]) -> HistoryJob:
    values = row._asdict()
    values["outcome"] = cast(Outcome, values["outcome"])
    return HistoryJob(**values)


def _order(job: HistoryJob) -> tuple[date, datetime, str]:
    return job.day, job.start_time or _EARLIEST, job.job_id or ""
