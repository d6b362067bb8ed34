"""Jobs still running at a check are judged at a later one, against their own day.

A job belongs to the day it started, so a nightly job that runs 21:00 -> 08:00 is still
running at the 07:00 check of its day and is never part of another day's answer. Each
run therefore remembers the jobs it saw running (``watch``), and the next runs look at
them again (``judge``): once a job has ended, the rules that judge jobs give their verdict
on it as evidence about its own day (``Finding.carried``), announced in the run that learns
it; while it still runs, ``long_running`` sees it pass ``max_hours``.

The calls, per user with carried jobs: ListBackupJobMode of each of their days (it says
whether the job ended and still exists), then GetBackupJobReportSummary once per ended job
and destination, or GetBackupJobProgress once per job still running.

A carried job that cannot be judged (the CBS no longer lists it, or a call about it fails)
is never dropped quietly: each run lists it as a check error of its user and tries again,
until ``GIVE_UP_DAYS`` after its day, when a last error says it was given up. One whose day
is older than ``retention_days`` (cbsalert was down that long) is dropped with a warning:
no check looks at days that old.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from cbsalert.cbs import CbsClient
from cbsalert.config import Config
from cbsalert.errors import CbsAuthError, CbsError
from cbsalert.evaluate import rules_for
from cbsalert.fetch import Consume
from cbsalert.model import CheckError, Finding, JobResult, UserSnapshot
from cbsalert.records import BackupJob
from cbsalert.rules import evaluate
from cbsalert.state.carried import CarriedJob

log = logging.getLogger(__name__)

# Days after its own day that a job which cannot be judged is still looked for.
GIVE_UP_DAYS = 3


def running_jobs(snap: UserSnapshot, seen_at: datetime) -> list[CarriedJob]:
    """The jobs of a user's day that had not ended at its check, each with its destinations."""
    found: dict[tuple[str, str], CarriedJob] = {}
    for result in snap.jobs:
        job = result.job
        if not job.running:
            continue
        ident = (job.backup_set_id, job.id)
        known = found.get(ident)
        destinations = (
            (*known.destinations, result.destination_id) if known else (result.destination_id,)
        )
        names = (*known.names, result.destination_name) if known else (result.destination_name,)
        found[ident] = CarriedJob(
            login=snap.login, day=snap.day, backup_set_id=job.backup_set_id,
            backup_set_name=job.backup_set_name or snap.expected_sets.get(job.backup_set_id, ""),
            job_id=job.id, destinations=destinations, seen_at=seen_at, names=names,
        )  # fmt: skip
    return list(found.values())


class CarryOver:
    """One run's part in carrying jobs over: what it saw running, and its verdicts on the
    jobs carried from earlier checks (``findings``, ``errors``, and ``done``: the carried
    jobs to forget; ``judged``: what was fetched about them, per user and day, for the job
    history)."""

    def __init__(self, config: Config, day: date, now: datetime, carried: Sequence[CarriedJob]):
        self._config = config
        self._day = day
        self._now = now
        self._carried = carried
        self._entries = {e.login: e for e in config.watch}
        self.running: list[CarriedJob] = []
        self.findings: list[Finding] = []
        self.errors: list[CheckError] = []
        self.done: list[CarriedJob] = []
        self.judged: list[UserSnapshot] = []

    def _judges_jobs(self, login: str) -> bool:
        return any(r.judges_jobs for r in rules_for(self._config, self._entries[login]))

    def watch(self, consume: Consume) -> Consume:
        """``consume`` that also remembers the jobs still running in each snapshot."""

        def remember(snap: UserSnapshot) -> None:
            if self._judges_jobs(snap.login):
                self.running.extend(running_jobs(snap, self._now))
            consume(snap)

        return remember

    async def judge(self, client: CbsClient, checked: Collection[str]) -> None:
        """Look again at the jobs carried from checks of earlier days, for the users this
        run could check; raises only ``CbsAuthError``."""
        cutoff = (self._now - timedelta(days=self._config.retention_days)).date()
        days: dict[tuple[str, date], list[CarriedJob]] = {}
        for job in self._carried:
            if job.login not in self._entries or job.day >= self._day:
                continue  # not watched any more (pruned later), or for a later run
            if job.day < cutoff:
                log.warning(
                    "no longer following %s: still running at that day's check, and that day "
                    "is older than retention_days (%d)", job.label, self._config.retention_days,
                )  # fmt: skip
                self.done.append(job)
            elif job.login in checked and self._judges_jobs(job.login):
                days.setdefault((job.login, job.day), []).append(job)
        tasks = [asyncio.create_task(self._judge_day(client, jobs)) for jobs in days.values()]
        try:
            await asyncio.gather(*tasks)
        finally:  # wrong credentials: leave no call behind
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _judge_day(self, client: CbsClient, jobs: list[CarriedJob]) -> None:
        login, day = jobs[0].login, jobs[0].day
        entry = self._entries[login]
        try:
            listed = await client.list_backup_jobs(login, day)
        except CbsAuthError:
            raise
        except CbsError as exc:
            for job in jobs:
                self._not_judged(job, exc.operation, f"cannot be read: {exc.message}")
            return
        by_id = {(j.backup_set_id, j.id): j for j in listed}
        results: list[JobResult] = []
        for job in jobs:
            now_listed = by_id.get((job.backup_set_id, job.job_id))
            if now_listed is None:
                self._not_judged(job, "ListBackupJobMode", "the CBS no longer lists it")
                continue
            try:
                results.extend(await _results(client, entry.owner, job, now_listed))
            except CbsAuthError:
                raise
            except CbsError as exc:
                self._not_judged(job, exc.operation, f"cannot be read: {exc.message}")
                continue
            if not now_listed.running:
                self.done.append(job)
        snap = UserSnapshot(
            login=login, owner=entry.owner, day=day, expected_sets={}, sets_source="none",
            jobs=results, cbs_zone=self._config.cbs_timezone, zone=self._config.zone,
        )  # fmt: skip
        self.judged.append(snap)
        rules = [r for r in rules_for(self._config, entry) if r.judges_jobs]
        note = f"The job of {day.isoformat()} (still running when that day was checked): "
        self.findings.extend(
            replace(f, carried=True, summary=note + f.summary)
            for f in evaluate(snap, rules, self._now)
        )

    def _not_judged(self, job: CarriedJob, operation: str, reason: str) -> None:
        """Never a quiet loss: a check error now, and again each run until given up."""
        if (self._day - job.day).days >= GIVE_UP_DAYS:
            self.done.append(job)
            outcome = f"gave up after {GIVE_UP_DAYS} days: its outcome stays unknown"
        else:
            outcome = "looked for again at the next check"
        message = f"{job.label}, still running at that day's check: {reason}; {outcome}"
        log.warning("cannot judge %s", message)
        self.errors.append(CheckError(job.login, operation, message))


async def _results(
    client: CbsClient, owner: str, job: CarriedJob, listed: BackupJob
) -> list[JobResult]:
    """The job on each destination: its report once it ended, its progress while it runs."""
    if listed.running:
        progress = await client.get_job_progress(
            job.login, job.backup_set_id, job.destinations[0], job.job_id
        )
        return [
            JobResult(listed, dest, None, progress, job.name(i))
            for i, dest in enumerate(job.destinations)
        ]
    return [
        JobResult(
            listed, dest,
            await client.get_job_report(job.login, owner, job.backup_set_id, job.job_id, dest),
            destination_name=job.name(i),
        )
        for i, dest in enumerate(job.destinations)
    ]  # fmt: skip
