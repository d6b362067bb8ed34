"""``cbsalert backfill``: past days fetched into job history; nothing evaluated, nothing sent.

A new installation has no past: the rules that compare a job with its history stay silent
until they have seen enough days, and a report of the last weeks is empty. Backfill fetches
the days asked for (``--days N``: the N days up to yesterday; ``--since DATE``: from DATE to
yesterday), oldest first, one day at a time with the check's own fetch
(``pipeline.fetch_checked``: the same calls, within ``cbs.max_concurrency``), and writes what
it saw as a check does (``historystep.RunHistory``: rows per job and destination, sets that
did not run, users that could not be checked). It evaluates no rule, stores no alert, sends
nothing, and moves no user's last day checked: alerts stay the check's business.

Resumable and idempotent: a user's day already in history (seen by a check or an earlier
backfill; an ``unchecked`` row does not count) is not fetched again unless ``force``, and
each day is written as it is fetched, so a backfill that stops part-way (the CBS failing,
Ctrl-C) keeps the days done and the next one goes on from there. Like a check it holds the
run lock: a check that starts meanwhile waits ``lock_timeout_s``, then exits 5.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cbsalert.config import Config
from cbsalert.daycheck import HISTORY_DAYS, FetchDay
from cbsalert.discovery import discover_for_run
from cbsalert.errors import UsageError
from cbsalert.historystep import RunHistory
from cbsalert.model import UserSnapshot
from cbsalert.pipeline import fetch_checked
from cbsalert.runresult import RunResult
from cbsalert.state import StateStore, holder_id, open_store

log = logging.getLogger(__name__)

# ``progress(done, total, day)``: user-days done (fetched or already in history) of all.
BackfillProgress = Callable[[int, int, date], None]


def backfill_range(
    today: date, history_days: int, *, days: int | None = None, since: date | None = None
) -> tuple[date, date]:
    """The first and last day to fetch: finished days (yesterday at the latest) that
    history keeps (``history_days``). Raises ``UsageError`` saying what to change."""
    if (days is None) == (since is None):
        raise UsageError("backfill needs either --days N or --since DATE (not both)")
    if history_days == 0:
        raise UsageError("history_days is 0 in the config: no job history is kept to fill")
    last = today - timedelta(days=1)
    if days is not None:
        if days < 1:
            raise UsageError(f"--days {days}: give at least 1 day")
        first, asked = last - timedelta(days=days - 1), f"--days {days} reaches back to"
    else:
        assert since is not None
        if since > last:
            raise UsageError(
                f"--since {since}: only finished days can be fetched; the latest is "
                f"yesterday, {last}"
            )
        first, asked = since, f"--since {since} is"
    oldest = today - timedelta(days=history_days)
    if first < oldest:
        raise UsageError(
            f"{asked} {first}, older than history_days ({history_days} days, so {oldest} at "
            "the earliest): the next check would prune it; raise history_days or ask for less"
        )
    return first, last


@dataclass
class BackfillResult:
    """What a backfill did. ``run`` holds the fetch's calls, check errors and fatal reason."""

    first: date
    last: date
    run: RunResult
    days: list[date] = field(default_factory=list)  # days fetched in full, oldest first
    fetched: int = 0  # user-days fetched
    skipped: int = 0  # user-days already in history
    rows: int = 0

    @property
    def exit_code(self) -> int:
        """As a check's: 0, 1 when some users could not be fetched, 3 when the CBS failed."""
        return self.run.exit_code

    @property
    def complete(self) -> bool:
        return not self.run.fatal and not self.run.errors and not self.run.watch_problems

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "days": [d.isoformat() for d in self.days],
            "user_days": {"fetched": self.fetched, "skipped": self.skipped},
            "rows": self.rows,
            "api_calls": self.run.api_calls,
            "api_retries": self.run.api_retries,
            "calls_by_operation": dict(self.run.calls_by_operation),
            "errors": [e.to_dict() for e in self.run.errors],
            "fatal": self.run.fatal,
            "duration_s": round(self.run.duration_s, 3),
        }


async def run_backfill(
    config: Config,
    first: date,
    last: date,
    *,
    force: bool = False,
    progress: BackfillProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> BackfillResult:
    """Fetch the days from ``first`` to ``last`` into history (see the module's docstring).
    Raises StateError / LockTimeoutError, never for a CBS fault (``run.fatal`` says it)."""
    started = clock()
    run = RunResult(last, config.timezone, False, users_total=len(config.watch))
    out = BackfillResult(first, last, run)
    store = open_store(config.state, auto_upgrade=True, secrets=config.secrets())
    try:
        with store.lock.hold(holder_id("backfill"), config.lock_timeout_s, config.lock_ttl_s):
            # the users a check would watch now, selected ones too (``discovery``)
            found = await discover_for_run(config, run)
            config = config.model_copy(update={"watch": found.entries})
            logins = [e.login for e in config.watch]
            total = len(logins) * ((last - first).days + 1)
            history = RunHistory(config, store.job_history, write=True, read=False, clock=clock)
            fetch = history.wrap(fetch_checked)
            day = first
            while day <= last and not run.fatal:
                done = out.fetched + out.skipped
                recorded = store.job_history.days_recorded(logins, day, day)
                due = [u for u in logins if force or day not in recorded.get(u, ())]
                out.skipped += len(logins) - len(due)
                if progress is not None:
                    progress(done + len(logins) - len(due), total, day)
                if due:
                    await _fetch_day(config, store, out, fetch, day, due, progress, total)
                day += timedelta(days=1)
            out.rows = history.rows_written
    finally:
        store.close()
        run.duration_s = clock() - started
    return out


async def _fetch_day(
    config: Config,
    store: StateStore,
    out: BackfillResult,
    fetch: FetchDay,
    day: date,
    due: list[str],
    progress: BackfillProgress | None,
    total: int,
) -> None:
    wanted = set(due)
    only = config.model_copy(update={"watch": [e for e in config.watch if e.login in wanted]})
    seen = store.seen.since(due, day - timedelta(days=HISTORY_DAYS))
    offset = out.fetched + out.skipped

    def report(done: int, _total: int) -> None:
        if progress is not None:
            progress(offset + done, total, day)

    fetched = await fetch(only, day, seen, report, out.run, _nothing)
    out.fetched += len(due)
    if fetched is None:  # the CBS cannot be used: the days after wait for the next backfill
        log.error("backfill stopped at %s: %s", day, out.run.fatal)
        return
    out.run.errors += [replace(e, day=day) for e in fetched.errors]
    out.days.append(day)


def _nothing(_snap: UserSnapshot) -> None:
    """Backfill evaluates nothing: the snapshot only goes into history."""


def today_in(config: Config, now: datetime | None = None) -> date:
    """Today's date in the config's zone (yesterday is the last finished day)."""
    return (now or datetime.now(UTC)).astimezone(config.zone).date()
