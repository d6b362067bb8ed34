"""Which of a user's records are looked at: the day's, a bounded number, for sets that exist.

The CBS decides what it lists; these rules decide what counts as evidence. A record of
another day never does (it would silence ``missing_backup``), a flood of jobs is cut to
the newest ``cbs.max_jobs_per_set`` per set (each job costs report calls), and a watch
entry naming a set the user does not have is that user's check error, not a daily "no
backup ran". Each cut is logged as a warning; none stops the run. Pure but for the logging.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date
from typing import TypeVar

from cbsalert.config import WatchEntry
from cbsalert.errors import UnknownBackupSetError
from cbsalert.records import BackupJob, BackupSet, RestoreJob, safe_text
from cbsalert.scope import names_any

log = logging.getLogger(__name__)

Dated = TypeVar("Dated", BackupJob, RestoreJob)


def of_the_day(login: str, what: str, records: list[Dated], day: date) -> list[Dated]:
    """The records that started on ``day`` in the CBS's zone (a job that starts at 23:50
    belongs to its start day). One whose start time is unknown is kept: the CBS listed it
    for the day, and it is judged with what is known."""
    kept = [r for r in records if not r.start_time or r.start_time.date() == day]
    if len(kept) == len(records):
        return records
    stray = next(r for r in records if r.start_time and r.start_time.date() != day)
    log.warning(
        "%s: ignoring %d %s(s) that did not start on %s (the CBS listed one that started %s)",
        login, len(records) - len(kept), what, day, stray.start_time,
    )  # fmt: skip
    return kept


def newest_per_set(login: str, jobs: list[BackupJob], day: date, cap: int) -> list[BackupJob]:
    """At most ``cap`` jobs per set, the newest, in their listed order: the calls one user
    can cause stay bounded however many jobs the CBS lists."""
    by_set: dict[str, list[BackupJob]] = defaultdict(list)
    for job in jobs:
        by_set[job.backup_set_id].append(job)
    dropped: set[int] = set()
    for set_id, group in by_set.items():
        if len(group) <= cap:
            continue
        log.warning(
            "%s: set %s has %d jobs on %s; only the newest %d are looked at"
            " (cbs.max_jobs_per_set)", login, set_id, len(group), day, cap,
        )  # fmt: skip
        dropped.update(id(job) for job in sorted(group, key=BackupJob.sort_key)[:-cap])
    return [job for job in jobs if id(job) not in dropped] if dropped else jobs


def check_watched_sets(entry: WatchEntry, sets: list[BackupSet], jobs: list[BackupJob]) -> None:
    """Raise ``UnknownBackupSetError`` for a pattern in ``backup_sets`` that names no set
    (by id or name, ``cbsalert.scope``) listed by ListBackupSets or run that day: a typo
    there would otherwise read as "no backup ran" every day."""
    known = {(s.id, s.name) for s in sets} | {(j.backup_set_id, j.backup_set_name) for j in jobs}
    missing = [p for p in entry.backup_sets or [] if not any(names_any([p], *k) for k in known)]
    if not missing:
        return
    have = [f"'{safe_text(s.name, 40)}' ({s.id})" if s.name else s.id for s in sets]
    listed = ", ".join(have[:5]) + (", …" if len(have) > 5 else "")
    message = (
        f"set {missing[0]} is not one of {entry.login}'s backup sets"
        f" ({f'it has {listed}' if have else 'it has none'}; see the watch entry's backup_sets)"
    )
    if len(missing) > 1:
        message += f"; nor are {', '.join(missing[1:])}"
    raise UnknownBackupSetError("ListBackupSets", message)
