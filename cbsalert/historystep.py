"""One run's part in job history: the past handed to the rules that read it, and what the
run saw written down (``cbsalert.jobhistory``; the table is ``cbsalert.state.jobhistory``).

``RunHistory.wrap`` wraps the fetch of each day a run checks (``daycheck.FetchDay``), so the
check, its catch-up days and ``backfill`` all go through it:

* before a user's snapshot is evaluated it gets its sets' past (``UserSnapshot.history``,
  days before the snapshot's day only), when one of the user's rules reads history
  (``RuleBase.history_days``); with no such rule nothing is read;
* after, the rows of what was seen are written in bulk every ``FLUSH_ROWS`` rows and at the
  end of the day, with an ``unchecked`` row for each user due that day that could not be
  checked (the CBS failing for everyone included).

``judged`` writes a later check's verdict on jobs that were still running at their day's
check (``cbsalert.carryover``). A run writes its rows before it reconciles its alerts: one
killed in between checks those days again next time, and their rows are replaced.

The past is read a chunk of users at a time, as their snapshots arrive (in watch order, give
or take the users in flight), and only a few chunks are held: the memory of a check with
history rules grows with the chunk, not with the users watched.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from cbsalert.config import Config
from cbsalert.daycheck import FetchDay, Then
from cbsalert.evaluate import rules_for
from cbsalert.fetch import Consume, FetchResult, Progress
from cbsalert.historyrows import Verdicts, job_row, snapshot_rows, unchecked_rows
from cbsalert.jobhistory import HistoryJob, SetKey
from cbsalert.model import UserSnapshot
from cbsalert.state.jobhistory import JobHistory

if TYPE_CHECKING:
    from cbsalert.runresult import RunResult

FLUSH_ROWS = 2000  # rows held before they are written
WINDOW_USERS = 200  # users whose past is read at once
WINDOW_KEEP = 3  # chunks of users' past held at a time

Past = dict[SetKey, list[HistoryJob]]


class RunHistory:
    """A run's reads and writes of job history. ``write=False`` (a dry run) writes
    nothing; ``read=False`` (backfill, which evaluates nothing) reads nothing."""

    def __init__(
        self,
        config: Config,
        history: JobHistory,
        *,
        write: bool,
        read: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._history = history
        self._write = write and config.history_days > 0
        self._read = read
        self._clock = clock
        self._verdicts = Verdicts.of(config.rules)
        self._rows: list[HistoryJob] = []
        self.rows_written = 0
        self.write_s = 0.0  # making the rows and writing them: what keeping history costs

    def wrap(self, fetch: FetchDay) -> FetchDay:
        """``fetch`` that reads and writes the history of the day it fetches."""

        async def fetch_with_history(
            config: Config,
            day: date,
            history: dict[str, dict[str, str]],  # the sets seen lately (daycheck's name)
            progress: Progress | None,
            result: RunResult,
            consume: Consume,
            then: Then | None = None,
        ) -> FetchResult | None:
            past = self._window(config, day, result)
            entries = {e.login: e for e in config.watch}
            done: set[str] = set()

            def each(snap: UserSnapshot) -> None:
                if past is not None:
                    snap.history = past.get(snap.login)
                consume(snap)
                done.add(snap.login)
                if self._write:
                    started = self._clock()
                    rules = rules_for(config, entries[snap.login])
                    self._rows += snapshot_rows(snap, self._verdicts, rules)
                    if len(self._rows) >= FLUSH_ROWS:
                        self._flush(result)
                    self.write_s += self._clock() - started

            fetched = await fetch(config, day, history, progress, result, each, then)
            if self._write:
                started = self._clock()
                owners = {e.login: e.owner for e in config.watch}
                self._rows += unchecked_rows([u for u in owners if u not in done], day, owners)
                self._flush(result)
                self.write_s += self._clock() - started
            return fetched

        return fetch_with_history

    def judged(self, snapshots: Iterable[UserSnapshot], result: RunResult) -> None:
        """Store the verdicts on carried jobs that have ended since their day's check."""
        if not self._write:
            return
        rows = [
            job_row(snap, job, self._verdicts)
            for snap in snapshots
            for job in snap.jobs
            if not job.job.running
        ]
        if rows:
            started = self._clock()
            self.rows_written += self._history.judged(rows)
            result.state_s += self._clock() - started
            self.write_s += self._clock() - started

    def _flush(self, result: RunResult) -> None:
        rows, self._rows = self._rows, []
        if rows:
            started = self._clock()
            self.rows_written += self._history.record(rows)
            result.state_s += self._clock() - started

    def _window(self, config: Config, day: date, result: RunResult) -> _Window | None:
        """The past of the day's users whose rules read it; None when none does."""
        if not self._read:
            return None
        logins: list[str] = []
        days = 0
        for entry in config.watch:
            wanted = max((rule.history_days() for rule in rules_for(config, entry)), default=0)
            if wanted > 0:
                logins.append(entry.login)
                days = max(days, wanted)
        if not logins:
            return None
        return _Window(self._history, logins, day, min(days, config.history_days), result,
                       self._clock)  # fmt: skip


class _Window:
    """The past of ``logins`` over the ``days`` before ``before``, read a chunk of
    ``WINDOW_USERS`` at a time when one of them is first asked for; the ``WINDOW_KEEP``
    chunks asked for last are held (a user of a chunk let go is read again)."""

    def __init__(
        self,
        history: JobHistory,
        logins: Sequence[str],
        before: date,
        days: int,
        result: RunResult,
        clock: Callable[[], float],
    ) -> None:
        self._history, self._before, self._days = history, before, days
        self._result, self._clock = result, clock
        self._chunks = [logins[i : i + WINDOW_USERS] for i in range(0, len(logins), WINDOW_USERS)]
        self._where = {login: i // WINDOW_USERS for i, login in enumerate(logins)}
        self._held: OrderedDict[int, dict[str, Past]] = OrderedDict()

    def get(self, login: str) -> Past:
        number = self._where.get(login)
        if number is None:
            return {}
        held = self._held.get(number)
        if held is None:
            started = self._clock()
            held = self._history.window(self._chunks[number], self._before, self._days)
            self._result.state_s += self._clock() - started
            self._held[number] = held
            while len(self._held) > WINDOW_KEEP:
                self._held.popitem(last=False)
        else:
            self._held.move_to_end(number)
        return held.get(login, {})
