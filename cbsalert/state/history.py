"""What earlier checks saw: the backup sets of each user, and each user's last day checked.

``SeenSets`` lets a server too old for ListBackupSets still tell a set that stopped running
from one that never existed; ``CheckedDays`` is where catching up starts (see
``cbsalert.catchup``). Both are read and written chunk by chunk, with plain rows and bulk
statements: ten thousand users' sets are compared without an ORM object for each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from cbsalert.state.storage import Storage, chunks
from cbsalert.state.tables import CheckedDay, SeenSet


class SeenSets:
    """The ``seen_sets`` table: per user, the sets seen and the first and last day seen."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def record(self, day: date, sets: Mapping[str, Mapping[str, str]]) -> None:
        """Remember the sets seen per user on ``day``; the name seen on the latest day wins
        (an older day checked late keeps the newer name)."""
        columns = (SeenSet.login, SeenSet.set_id, SeenSet.set_name, SeenSet.first_seen,
                   SeenSet.last_seen)  # fmt: skip
        with self._storage.write() as s:
            for chunk in chunks(sorted(sets)):
                known = {
                    (row.login, row.set_id): row
                    for row in s.execute(select(*columns).where(SeenSet.login.in_(chunk)))
                }
                fresh: list[dict[str, Any]] = []
                changed: list[dict[str, Any]] = []
                for login in chunk:
                    for set_id, name in sets[login].items():
                        row = known.get((login, set_id))
                        if row is None:
                            fresh.append({"login": login, "set_id": set_id, "set_name": name or "",
                                          "first_seen": day, "last_seen": day})  # fmt: skip
                            continue
                        after = {
                            "login": login,
                            "set_id": set_id,
                            "set_name": (name or row.set_name)
                            if day >= row.last_seen
                            else row.set_name,
                            "first_seen": min(row.first_seen, day),
                            "last_seen": max(row.last_seen, day),
                        }
                        if tuple(after.values()) != tuple(row):
                            changed.append(after)
                if fresh:
                    s.execute(insert(SeenSet), fresh)
                if changed:
                    s.execute(update(SeenSet), changed)

    def since(self, logins: Sequence[str], since: date) -> dict[str, dict[str, str]]:
        """Per login (every one asked about), the sets seen on or after ``since``."""
        out: dict[str, dict[str, str]] = {login: {} for login in logins}
        with self._storage.read() as s:
            for chunk in chunks(sorted(set(logins))):
                query = select(SeenSet.login, SeenSet.set_id, SeenSet.set_name).where(
                    SeenSet.login.in_(chunk), SeenSet.last_seen >= since
                )
                for row in s.execute(query.order_by(SeenSet.set_id)):
                    out[row.login][row.set_id] = row.set_name
        return out

    def prune(self, cutoff: date) -> None:
        with self._storage.write() as s:
            s.execute(delete(SeenSet).where(SeenSet.last_seen < cutoff))


class CheckedDays:
    """The ``checked_days`` table: per user, the last day checked in full."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def through(self, logins: Sequence[str]) -> dict[str, date]:
        """Per login that has one, the last day it was checked in full (see ``catchup``)."""
        out: dict[str, date] = {}
        with self._storage.read() as s:
            for chunk in chunks(sorted(set(logins))):
                query = select(CheckedDay.login, CheckedDay.last_day)
                for login, last_day in s.execute(query.where(CheckedDay.login.in_(chunk))):
                    out[login] = last_day
        return out

    def record(self, days: Mapping[str, date], *, now: datetime) -> None:
        """Set each login's last day checked (written with the run's alert changes)."""
        if not days:
            return
        with self._storage.write() as s:
            for chunk in chunks(sorted(days)):
                query = select(CheckedDay.login).where(CheckedDay.login.in_(chunk))
                known = set(s.scalars(query))
                rows = [{"login": login, "last_day": days[login], "checked_at": now}
                        for login in chunk]  # fmt: skip
                fresh = [row for row in rows if row["login"] not in known]
                if fresh:
                    s.execute(insert(CheckedDay), fresh)
                if len(fresh) < len(rows):
                    s.execute(update(CheckedDay), [row for row in rows if row["login"] in known])

    def prune(self, cutoff: date) -> None:
        with self._storage.write() as s:
            s.execute(delete(CheckedDay).where(CheckedDay.last_day < cutoff))
