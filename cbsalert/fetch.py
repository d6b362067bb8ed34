"""Fetch one day of every watched user from the CBS, within the run's concurrency bound.

Per user: ListBackupSets, ListBackupJobMode and ListRestoreJobStatus (3 calls); GetBackupSet
once per set that ran; GetBackupJobReportSummary once per job and destination;
GetBackupJobProgress once per job still running. No rule asks for anything twice. The jobs
are those of the day (a record of another day is never evidence), at most
``cbs.max_jobs_per_set`` per set, the newest: a flood of job records is a warning, not a
flood of calls on the customer's server.

A user whose calls fail becomes a ``CheckError`` and contributes no findings, so a failed
fetch is never taken as evidence that a problem is fixed. Some failures are the CBS's, not
the users': wrong system credentials (confirmed by the server), and the signs that
``outage.OutageWatch`` reads. They stop the whole run (``CbsAuthError``,
``CbsUnavailableError``), and the pipeline turns that into exit 3 and the meta-alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from cbsalert.cbs import CbsClient
from cbsalert.cbs_http import shown_url
from cbsalert.config import Config, WatchEntry
from cbsalert.errors import (
    CbsAuthError,
    CbsError,
    CbsUnavailableError,
)
from cbsalert.model import CheckError, JobResult, UserSnapshot
from cbsalert.outage import OutageWatch
from cbsalert.records import BackupJob, BackupSet, Destination, RestoreJob
from cbsalert.scope import names_any
from cbsalert.selection import check_watched_sets, newest_per_set, of_the_day

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[int, int], None]
Consume = Callable[[UserSnapshot], None]


@dataclass
class FetchResult:
    """Users fetched in full, and the ones that failed. ``snapshots`` is empty when the
    caller consumed each snapshot as it came (``fetch_day(consume=...)``)."""

    snapshots: list[UserSnapshot] = field(default_factory=list)
    errors: list[CheckError] = field(default_factory=list)
    checked_logins: set[str] = field(default_factory=set)


def make_client(config: Config) -> CbsClient:
    c = config.cbs
    if not c.verify_tls:
        log.warning("TLS verification of %s is OFF (cbs.verify_tls: false)", shown_url(c.url))
    return CbsClient(
        c.url,
        c.sys_user,
        c.sys_password,
        timeout_s=c.timeout_s,
        connect_timeout_s=c.connect_timeout_s,
        max_answer_bytes=int(c.max_answer_mb * 1_000_000),
        max_concurrency=c.max_concurrency,
        verify_tls=c.verify_tls,
        ca_bundle=c.ca_bundle,
        retries=c.retries,
        backoff_s=c.backoff_s,
    )


def _selected(entry: WatchEntry, set_id: str, name: str | None) -> bool:
    """Whether a set is watched: ``backup_sets`` narrows, ``ignore_sets`` excludes (patterns
    naming a set by id or name, ``cbsalert.scope``)."""
    if entry.backup_sets is not None and not names_any(entry.backup_sets, set_id, name):
        return False
    return not names_any(entry.ignore_sets, set_id, name)


class _Fetcher:
    def __init__(
        self,
        client: CbsClient,
        config: Config,
        day: date,
        history: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.client = client
        self.config = config
        self.day = day
        self.history = history

    async def user(self, entry: WatchEntry) -> UserSnapshot:
        login, owner, client = entry.login, entry.owner, self.client
        found: list[Any] = await _all(
            client.list_backup_sets(login),
            client.list_backup_jobs(login, self.day),
            client.list_restore_jobs(login, owner, self.day),
        )
        sets: list[BackupSet] | None = found[0]
        jobs: list[BackupJob] = found[1]
        restores: list[RestoreJob] = found[2]
        if sets is not None and entry.backup_sets is not None:
            check_watched_sets(entry, sets, jobs)
        jobs = [j for j in jobs if _selected(entry, j.backup_set_id, j.backup_set_name)]
        restores = [r for r in restores if _selected(entry, r.backup_set_id, r.backup_set_name)]
        jobs = of_the_day(login, "backup job", jobs, self.day)
        jobs = newest_per_set(login, jobs, self.day, self.config.cbs.max_jobs_per_set)
        restores = of_the_day(login, "restore", restores, self.day)
        expected, source = self._expected_sets(entry, sets, jobs)
        results = await self._job_results(login, owner, jobs)
        return UserSnapshot(
            login=login,
            owner=owner,
            day=self.day,
            expected_sets=expected,
            sets_source=source,
            jobs=results,
            restores=restores,
            cbs_zone=self.config.cbs_timezone,
            zone=self.config.zone,
            cbs_sets=None if sets is None else frozenset(s.id for s in sets),
        )

    def _expected_sets(
        self, entry: WatchEntry, sets: list[BackupSet] | None, jobs: list[BackupJob]
    ) -> tuple[dict[str, str], str]:
        names = {j.backup_set_id: j.backup_set_name for j in jobs}
        if sets is not None:
            names.update({s.id: s.name for s in sets})
        if entry.backup_sets is not None:
            expected = {i: n for i, n in names.items() if names_any(entry.backup_sets, i, n)}
            # A pattern naming no set listed or run today (only possible without
            # ListBackupSets, else it is a check error) is expected as the id it says: a set
            # that never runs is what missing_backup is for.
            for pattern in entry.backup_sets:
                if not any(names_any([pattern], i, n) for i, n in names.items()):
                    expected.setdefault(pattern, "")
            return expected, "config"
        if sets is not None:
            return {s.id: s.name for s in sets if _selected(entry, s.id, s.name)}, "server"
        # A server without ListBackupSets: the sets seen lately, and every set with a job
        # today in any mode (a set that only ran by hand is still a set that should run on
        # schedule), so a problem gets the same per-set alert as on a newer server.
        seen = dict(self.history.get(entry.login, {}))
        for set_id, name in names.items():
            seen[set_id] = name or seen.get(set_id, "")
        if seen:
            return {i: n for i, n in seen.items() if _selected(entry, i, n)}, "history"
        return {}, "none"

    async def _job_results(self, login: str, owner: str, jobs: list[BackupJob]) -> list[JobResult]:
        # The CBS is asked with the ids exactly as it sent them (``raw_*``); what is stored and
        # shown are the safe forms (see records.py).
        client = self.client
        set_ids = sorted({j.raw_set_id for j in jobs})
        found = await _all(*(client.get_destinations(login, s) for s in set_ids))
        destinations: dict[str, list[Destination] | None] = dict(zip(set_ids, found, strict=True))

        def dests(job: BackupJob) -> list[Destination | None]:
            listed = destinations.get(job.raw_set_id)
            return list(listed) if listed else [None]

        pairs = [(job, dest) for job in jobs for dest in dests(job)]
        running = [job for job in jobs if job.running]
        answers: list[Any] = await _all(
            *(
                client.get_job_report(login, owner, j.raw_set_id, j.raw_id, _raw(d))
                for j, d in pairs
            ),
            *(
                client.get_job_progress(login, j.raw_set_id, _raw(dests(j)[0]), j.raw_id)
                for j in running
            ),
        )
        reports, progresses = answers[: len(pairs)], answers[len(pairs) :]
        progress = {job.id: item for job, item in zip(running, progresses, strict=True)}
        return [
            JobResult(job, _id(dest), report, progress.get(job.id), _name(dest))
            for (job, dest), report in zip(pairs, reports, strict=True)
        ]


def _raw(destination: Destination | None) -> str | None:
    return destination.raw_id if destination is not None else None


def _id(destination: Destination | None) -> str | None:
    return destination.id if destination is not None else None


def _name(destination: Destination | None) -> str | None:
    """The destination's name, made safe by ``records`` (``None`` when the CBS gave none)."""
    return (destination.name or None) if destination is not None else None


async def _all(*calls: Awaitable[T]) -> list[T]:
    """``asyncio.gather`` that lets every call finish before raising the first failure
    (wrong credentials first): a user that cannot be checked leaves no calls running,
    or retrying, behind it, and every request sent is counted."""
    answers = await asyncio.gather(*calls, return_exceptions=True)
    failures = [a for a in answers if isinstance(a, BaseException)]
    if failures:
        raise next((f for f in failures if isinstance(f, CbsAuthError)), failures[0])
    return cast(list[T], answers)


async def fetch_day(
    client: CbsClient,
    config: Config,
    day: date,
    history: Mapping[str, Mapping[str, str]] | None = None,
    progress: Progress | None = None,
    consume: Consume | None = None,
) -> FetchResult:
    """Fetch every watched user; CbsAuthError / CbsUnavailableError when the CBS is unusable.

    With ``consume`` each snapshot is handed over as soon as it is complete and not kept,
    so a run's memory does not grow with the number of users.
    """
    fetcher = _Fetcher(client, config, day, history or {})
    result = FetchResult()
    entries = list(config.watch)
    # A CBS that answers nobody is down, not N users with problems: give up early.
    outage = OutageWatch(client, users=len(entries), give_up=max(3, config.cbs.max_concurrency))
    queue: asyncio.Queue[WatchEntry] = asyncio.Queue()
    for entry in entries:
        queue.put_nowait(entry)
    done = 0
    # Users in flight are bounded too, so ten thousand users cost ten thousand small
    # records, not ten thousand suspended coroutines holding their partial results.
    workers = max(1, min(len(entries), config.cbs.max_concurrency * 2))

    async def worker() -> None:
        nonlocal done
        while not queue.empty():
            entry = queue.get_nowait()
            try:
                snapshot = await fetcher.user(entry)
            except CbsAuthError:
                raise
            except CbsError as exc:
                unusable = outage.failed(exc)
                if unusable is not None:
                    raise unusable from None
                log.warning("cannot check %s: %s", entry.login, exc)
                result.errors.append(CheckError(entry.login, exc.operation, exc.message))
            else:
                outage.succeeded()
                result.checked_logins.add(entry.login)
                if consume is None:
                    result.snapshots.append(snapshot)
                else:
                    consume(snapshot)
            done += 1
            if progress is not None:
                progress(done, len(entries))

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    deadline = asyncio.timeout(config.cbs.deadline_s)
    try:
        async with deadline:
            await _first_failure(tasks)
        unusable = outage.all_failed_alike()
        if unusable is not None:
            raise unusable
    except TimeoutError:
        if not deadline.expired():
            raise
        _deadline_passed(config, entries, result)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    order = {e.login: i for i, e in enumerate(entries)}
    result.snapshots.sort(key=lambda s: order[s.login])
    result.errors.sort(key=lambda e: order.get(e.login, 0))
    return result


def _deadline_passed(config: Config, entries: list[WatchEntry], result: FetchResult) -> None:
    """Users not fetched in time are check errors; none fetched at all: the CBS is unusable."""
    limit = f"the run deadline of {config.cbs.deadline_s:g} s (cbs.deadline_s) passed"
    if not result.checked_logins:
        raise CbsUnavailableError("fetch", f"{limit} before any user was checked") from None
    finished = result.checked_logins | {e.login for e in result.errors}
    late = [e.login for e in entries if e.login not in finished]
    log.warning("%s with %d users not checked", limit, len(late))
    result.errors.extend(CheckError(login, "fetch", f"not checked: {limit}") for login in late)


async def _first_failure(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for all tasks; re-raise the first exception at once (cancelling the rest)."""
    pending: set[asyncio.Task[None]] = set(tasks)
    while pending:
        finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in finished:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
