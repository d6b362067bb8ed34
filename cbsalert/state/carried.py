"""Jobs carried over from one check to the next, kept in the state database.

A run remembers the jobs it saw running *before* it stores its alert changes, and forgets
the ones it judged, gave up or dropped *after*: a run killed in between has lost nothing
(a job judged again next time changes nothing, its verdict is stored). ``CarriedJobs`` is
one part of the state store (``StateStore.carried``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, insert, select

from cbsalert.state.storage import Storage, chunks
from cbsalert.state.tables import CarriedJobRow


@dataclass(frozen=True)
class CarriedJob:
    """A job of ``day`` that was still running at that day's check, on these destinations
    (``None``: the set's destinations were unknown), with their names (``names``, same
    order; ``None`` where the CBS gave none, and empty for a job remembered by a cbsalert
    that did not keep them), so that the verdict names the destination too."""

    login: str
    day: date
    backup_set_id: str
    backup_set_name: str
    job_id: str
    destinations: tuple[str | None, ...]
    seen_at: datetime
    names: tuple[str | None, ...] = ()

    def name(self, index: int) -> str | None:
        """The name of ``destinations[index]``, if known."""
        return self.names[index] if index < len(self.names) else None

    @property
    def key(self) -> str:
        """One row per job: a digest, so ids of any length and content make a valid key."""
        ident = json.dumps([self.login, self.day.isoformat(), self.backup_set_id, self.job_id])
        return hashlib.sha256(ident.encode()).hexdigest()

    @property
    def label(self) -> str:
        name = f"'{self.backup_set_name}'" if self.backup_set_name else f"set {self.backup_set_id}"
        return f"job {self.job_id} of {name} of {self.login}, from {self.day.isoformat()}"


class CarriedJobs:
    """The ``carried_jobs`` table: ``load``, ``remember`` and ``forget``."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def load(self) -> list[CarriedJob]:
        """Every carried job, oldest day first."""
        query = select(CarriedJobRow).order_by(CarriedJobRow.day, CarriedJobRow.key)
        with self._storage.read() as s:
            return [_decode(row) for row in s.scalars(query)]

    def remember(self, jobs: Sequence[CarriedJob]) -> None:
        """Keep ``jobs``; a job already kept stays as it is (the same day checked again)."""
        fresh = {job.key: job for job in jobs}
        with self._storage.write() as s:
            for chunk in chunks(sorted(fresh)):
                stored = select(CarriedJobRow.key).where(CarriedJobRow.key.in_(chunk))
                known = set(s.scalars(stored))
                rows = [_encode(fresh[key]) for key in chunk if key not in known]
                if rows:
                    s.execute(insert(CarriedJobRow), rows)

    def forget(self, jobs: Sequence[CarriedJob]) -> None:
        with self._storage.write() as s:
            for chunk in chunks(sorted({job.key for job in jobs})):
                s.execute(delete(CarriedJobRow).where(CarriedJobRow.key.in_(chunk)))

    def prune(self, cutoff: date) -> None:
        """Forget jobs of days before ``cutoff``, judged or not."""
        with self._storage.write() as s:
            s.execute(delete(CarriedJobRow).where(CarriedJobRow.day < cutoff))


def _encode(job: CarriedJob) -> dict[str, object]:
    # json.dumps escapes control characters (NUL included), which PostgreSQL refuses in text.
    # The names ride in the same JSON column: no migration, and an older row simply lacks them.
    ids = {"set": job.backup_set_id, "set_name": job.backup_set_name, "job": job.job_id,
           "destinations": list(job.destinations), "names": list(job.names)}  # fmt: skip
    return {"key": job.key, "login": job.login, "day": job.day, "job": json.dumps(ids),
            "seen_at": job.seen_at}  # fmt: skip


def _decode(row: CarriedJobRow) -> CarriedJob:
    ids = json.loads(row.job)
    return CarriedJob(
        login=row.login,
        day=row.day,
        backup_set_id=ids["set"],
        backup_set_name=ids["set_name"],
        job_id=ids["job"],
        destinations=tuple(ids["destinations"]),
        seen_at=row.seen_at,
        names=tuple(ids.get("names") or ()),
    )
