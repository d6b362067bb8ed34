"""The checks of a run's days, one day at a time: fetch the users due that day, evaluate.

A run that catches up missed days (``cbsalert.catchup``) checks each of them as a run on
time would have, for the users due that day only, so each day costs what the README's
API-call formula says for it. What the days before told is kept for the days after: the
sets seen (the expected sets of servers without ListBackupSets) and the alerts that fired
(a later clear finding about one must survive the sifting of clear findings although the
alert is not stored yet).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from cbsalert.catchup import DayEvidence, DayPlan
from cbsalert.cbs import CbsClient
from cbsalert.config import Config
from cbsalert.evaluate import Evaluator
from cbsalert.fetch import Consume, FetchResult, Progress
from cbsalert.labels import days_phrase
from cbsalert.model import Finding
from cbsalert.state import StateStore

if TYPE_CHECKING:
    from cbsalert.pipeline import RunResult

log = logging.getLogger(__name__)

HISTORY_DAYS = 14  # days of sets seen that count as a user's sets on an old server


# After the run's own day is fetched, with the same client and the users it checked: the
# jobs carried over from earlier checks are judged then (cbsalert.carryover).
Then = Callable[[CbsClient, set[str]], Awaitable[None]]


class FetchDay(Protocol):
    """``pipeline.fetch_checked``: one day of the given users; None when the CBS is unusable."""

    def __call__(
        self,
        config: Config,
        day: date,
        history: dict[str, dict[str, str]],
        progress: Progress | None,
        result: RunResult,
        consume: Consume,
        then: Then | None = None,
    ) -> Awaitable[FetchResult | None]: ...


class DayChecks:
    """``run(day)`` for each day of ``plan``, oldest first; what it found is a
    ``DayEvidence``, its check errors go to ``result.errors`` with their day."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        result: RunResult,
        now: datetime,
        progress: Progress | None,
        plan: DayPlan,
        *,
        fetch: FetchDay,
        clock: Callable[[], float] = time.monotonic,
        watch: Callable[[Consume], Consume] | None = None,
        then: Then | None = None,
    ) -> None:
        """``watch`` wraps each day's consumer (to see every snapshot); ``then`` runs after
        the fetch of the run's own day (the last of the plan)."""
        self.config, self.store, self.result, self.now = config, store, result, now
        self.progress, self.plan, self.fetch, self.clock = progress, plan, fetch, clock
        self.watch, self.then = watch, then
        self.total = sum(len(logins) for logins in plan.due.values())
        self.done = 0
        self.fired: set[str] = set()
        self.seen: dict[str, dict[str, str]] = {}
        self.sets_seen: dict[date, dict[str, dict[str, str]]] = {}  # to record, per day

    async def run_all(self) -> list[DayEvidence]:
        """Every day of the plan, oldest first, until one finds the CBS unusable: the days
        after it wait for the next run.

        Catching up is not allowed to take a slow CBS's whole night: once the missed days
        have taken ``cbs.deadline_s``, the rest of them wait for the next run, and the
        run's own day is checked (within its own ``cbs.deadline_s``, as always)."""
        plan = self.plan
        if plan.not_checked:
            log.warning("the backups of %s were not checked, and will not be: older than "
                        "catch_up_days", days_phrase(plan.not_checked))  # fmt: skip
        if plan.caught_up:
            log.info("catching up the backups of %s", days_phrase(plan.caught_up))
        evidence: list[DayEvidence] = []
        started = self.clock()
        for day in plan.days:
            if day in plan.caught_up and self.clock() - started >= self.config.cbs.deadline_s:
                log.warning("catching up took cbs.deadline_s: the backups of %s wait for the "
                            "next run", day)  # fmt: skip
                continue
            found = await self.run(day)
            if found is None:
                break
            evidence.append(found)
        return evidence

    def record_sets(self) -> None:
        """Remember the sets seen on each day checked (``SeenSets.record``)."""
        for day, sets in self.sets_seen.items():
            self.store.seen.record(day, sets)

    def stored_keys(self, keys: Collection[str]) -> set[str]:
        return self.store.alerts.stored_keys(keys) | (set(keys) & self.fired)

    def sift(self, findings: list[Finding]) -> list[Finding]:
        """The firing findings, and the clear ones about an alert stored or fired."""
        t = self.clock()
        known = self.stored_keys({f.key for f in findings if not f.firing})
        self.result.state_s += self.clock() - t
        return [f for f in findings if f.firing or f.key in known]

    async def run(self, day: date) -> DayEvidence | None:
        """Check ``day`` for the users due; None when the CBS cannot be used."""
        due = set(self.plan.due[day])
        config = self.config
        if len(due) < len(config.watch):
            config = config.model_copy(
                update={"watch": [e for e in config.watch if e.login in due]}
            )
        t = self.clock()
        history = self.store.seen.since(sorted(due), day - timedelta(days=HISTORY_DAYS))
        for login, sets in self.seen.items():
            if login in history:
                history[login].update(sets)
        self.result.state_s += self.clock() - t
        evaluator = Evaluator(config, self.now, self.stored_keys, self.clock)
        offset, progress = self.done, self.progress

        def report(done: int, _total: int) -> None:
            if progress is not None:  # one bar over every day's users
                progress(offset + done, self.total)

        consume = self.watch(evaluator.add) if self.watch else evaluator.add
        then = self.then if day == self.plan.days[-1] else None
        fetched = await self.fetch(config, day, history, report, self.result, consume, then)
        self.done += len(due)
        if fetched is None:
            return None
        self.result.errors += [replace(e, day=day) for e in fetched.errors]
        findings = evaluator.finish()
        self.result.state_s += evaluator.lookup_s
        self.result.not_judged.merge(evaluator.not_judged)
        self.fired.update(f.key for f in findings if f.firing)
        self.sets_seen[day] = evaluator.sets_seen
        for login, sets in evaluator.sets_seen.items():
            self.seen.setdefault(login, {}).update(sets)
        return DayEvidence(day, findings, fetched.checked_logins, evaluator.sets_on_cbs)
