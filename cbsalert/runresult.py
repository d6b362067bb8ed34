"""What a run did (``RunResult``), and the one definition of its outcome.

A run's outcome says whether cbsalert did its job: ``ok`` when every watched user was
checked (alerts or not), ``partial`` when some could not be, ``cbs_unreachable`` when the
CBS could not be used at all, ``error`` when the run raised instead of returning a result
(the state database, a bug). Everything said about a run derives from it: the exit code of
``check``, the ``cbsalert_runs_total{outcome}`` label, the ``outcome`` of ``serve``'s
summary line, and the heartbeat ping (``cbsalert.runwatch``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

from cbsalert.cbs_call import CbsCaller
from cbsalert.errors import EXIT_CBS, EXIT_OK, EXIT_PARTIAL, CbsError, redact
from cbsalert.model import AlertEvent, AlertState, CheckError, OutageCause
from cbsalert.notjudged import NotJudgedTally
from cbsalert.outage import outage_cause
from cbsalert.watchlist import WatchReport

log = logging.getLogger("cbsalert.pipeline")  # where a run's fatal line was always logged

Outcome = Literal["ok", "partial", "cbs_unreachable", "error"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
Ping = Literal["ok", "fail"]

# The exit code of each outcome a result can have; a run that raised ("error") exits with
# its error's own code (``errors``).
EXIT_CODES: dict[Outcome, int] = {
    "ok": EXIT_OK, "partial": EXIT_PARTIAL, "cbs_unreachable": EXIT_CBS,
}  # fmt: skip
# What the dead man's switch hears: "alive", "alive but broken", or nothing, so that a run
# that checked only some users, again and again, lets the check go down after its grace.
HEARTBEAT: dict[Outcome, Ping | None] = {
    "ok": "ok", "partial": None, "cbs_unreachable": "fail", "error": "fail",
}  # fmt: skip


@dataclass
class RunResult:
    """What a run did; ``to_json`` is the ``--format json`` document."""

    day: date  # the run's day (yesterday, or --date); the newest of ``days``
    timezone: str
    dry_run: bool
    users_total: int
    days: list[date] = field(default_factory=list)  # checked, oldest first (catch-up)
    days_not_checked: list[date] = field(default_factory=list)  # missed, older than the limit
    api_calls: int = 0  # operations asked for; retried attempts are in api_retries
    api_retries: int = 0
    calls_by_operation: dict[str, int] = field(default_factory=dict)
    api_errors_by_operation: dict[str, int] = field(default_factory=dict)
    events: list[AlertEvent] = field(default_factory=list)
    errors: list[CheckError] = field(default_factory=list)
    fatal: str | None = None
    fatal_reason: str | None = None
    fatal_cause: OutageCause = "reach"  # with ``fatal``: what the CBS did (the meta-alert's words)
    skipped: str | None = None  # set when another instance had already done this run
    deliveries_sent: int = 0
    deliveries_failed: int = 0
    duration_s: float = 0.0
    state_s: float = 0.0
    # Sets the history rules could not judge (too little history, unknown counts).
    not_judged: NotJudgedTally = field(default_factory=NotJudgedTally)
    # What the watch list came to (``watchlist``); None when it has no ``select`` entry.
    watch: WatchReport | None = None

    @property
    def users_checked(self) -> int:
        failed = {e.login for e in self.errors}
        return 0 if self.fatal else self.users_total - len(failed)

    @property
    def users_unchecked(self) -> int:
        """Watched users this run could not check (all of them when the CBS was unusable)."""
        return self.users_total - self.users_checked

    @property
    def watch_problems(self) -> list[str]:
        """Selections of the watch list that could not be resolved: their users unchecked."""
        return self.watch.problems if self.watch is not None else []

    @property
    def outcome(self) -> Outcome:
        """``ok`` only when every watched user was checked: that is what "working" means here
        (the users of a selection that could not be resolved were not)."""
        if self.fatal:
            return "cbs_unreachable"
        return "partial" if self.errors or self.watch_problems else "ok"

    def cbs_unusable(self, exc: CbsError, secrets: Iterable[str]) -> None:
        """The CBS could not be used in this run (``exc``: wrong credentials, an outage)."""
        self.fatal_reason = redact(str(exc), list(secrets))
        self.fatal_cause = outage_cause(exc)
        self.fatal = f"the CBS cannot be used: {self.fatal_reason}"
        log.error("%s", self.fatal)

    def count_calls(self, client: CbsCaller) -> None:
        """Add a client's calls to the run's (one client per day checked, and for ListUsers)."""
        self.api_calls += client.total_calls
        self.api_retries += sum(client.retries.values())
        _add_counts(self.calls_by_operation, client.calls)
        _add_counts(self.api_errors_by_operation, client.failures)

    @property
    def exit_code(self) -> int:
        """The outcome's exit code; a failed delivery makes an ``ok`` run's 1: the check
        worked, but someone was not told."""
        code = EXIT_CODES[self.outcome]
        return EXIT_PARTIAL if code == EXIT_OK and self.deliveries_failed else code

    @property
    def reported(self) -> list[AlertEvent]:
        """Events worth showing: every alert firing after the run (with evidence this day or
        not; its ``date`` is the day of its latest evidence), and what resolved in it."""
        return [e for e in self.events if e.state != "firing" or e.finding.firing]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(get_args(AlertState), 0)
        for event in self.reported:
            out[event.state] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "days": [d.isoformat() for d in self.days],
            "days_not_checked": [d.isoformat() for d in self.days_not_checked],
            "timezone": self.timezone,
            "dry_run": self.dry_run,
            "api_calls": self.api_calls,
            "api_retries": self.api_retries,
            "users": self._users_json(),
            "alerts": [e.to_dict() for e in self.reported],
            "errors": [e.to_dict() for e in self.errors],
            "fatal": self.fatal,
            "deliveries": {"sent": self.deliveries_sent, "failed": self.deliveries_failed},
            "calls_by_operation": dict(self.calls_by_operation),
            "duration_s": round(self.duration_s, 3),
            "state_s": round(self.state_s, 3),  # of which in the state database
            "not_judged": self.not_judged.to_json(),
        }

    def _users_json(self) -> dict[str, Any]:
        users: dict[str, Any] = {"total": self.users_total, "checked": self.users_checked}
        if self.watch is not None:
            users |= self.watch.counts()
            users["problems"] = list(self.watch.problems)
        return users


def _add_counts(counts: dict[str, int], more: Mapping[str, int]) -> None:
    for key, count in more.items():
        counts[key] = counts.get(key, 0) + count
