"""The demo's messages, from real runs: what the payload checks, the browser tests and the
README's screenshots look at, so that they show what people get, not a hand-made sample.

* ``small``: the demo world (``demo_data.yaml``) checked for the first time: six alerts
  about five users, a failed job that also logged an error among them;
* ``mixed``: the next day, after acme-fs was fixed (resolved), with dental-clinic and
  lawfirm still failing (reminders: the rules remind daily here) and a new failure (obm);
* ``large``: 300 alerts about 300 backup sets, most of one reseller's customers failing
  at once (a systemic cause), built from events, listed up to the default ``max_alerts``.

The runs are the real pipeline (``run_once``) against the simulator, with a fixed clock
(Sunday 29 November 2026, 07:00 in Amsterdam, checking Saturday's backups; ``mixed`` the
Monday after), each notifier's message context captured where it would have been sent.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cbsalert.devtools.demo import demo_config, demo_data
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.simulator.data import SimJob
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.model import AlertEvent, AlertState, Finding, Severity
from cbsalert.notify import MessageContext, Notifier, Parts, build_context
from cbsalert.notify.base import NotifierConfig
from cbsalert.pipeline import run_once

ZONE = ZoneInfo("Europe/Amsterdam")
TODAY = date(2026, 11, 29)  # a Sunday: the demo checks Saturday's backups
MORNING = datetime(2026, 11, 29, 7, 0, tzinfo=ZONE)
MAX_ALERTS = NotifierConfig.model_fields["max_alerts"].default


class _Recorder(Notifier):
    """Keeps each message context it is given, instead of delivering it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.contexts: list[MessageContext] = []

    def render(self, context: MessageContext) -> object:
        return context

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        self.contexts.append(context)


def _run(world: SimData, state_dir: Path, now: datetime) -> dict[str, MessageContext]:
    """One real check of ``world``; each notifier's message of it."""
    with Simulator(world) as sim, SlackSink() as slack, SmtpSink() as smtp:
        config = demo_config(sim, slack, smtp, state_dir)
        # Remind daily, so that the next day's run has reminders to show.
        rules = [
            r.model_copy(update={"repeat_interval": timedelta(hours=20)}) for r in config.rules
        ]
        config = config.model_copy(update={"rules": rules})
        recorders = {name: _Recorder(name) for name in config.notifiers}
        # In a thread of its own: the caller may have an event loop running (Playwright's
        # synchronous API keeps one), and asyncio.run refuses to start inside another.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run_once(config, now=now, notifiers=dict(recorders))).result()
    return {name: r.contexts[-1] for name, r in recorders.items() if r.contexts}


def _next_day(world: SimData, today: date) -> SimData:
    """The demo world a day later: acme-fs's failed set backed up fine, obm's failed, and
    media-agency's stuck job of the day before ended (the CBS lists it: the check that saw
    it running looks for it again)."""
    users = []
    for user in world.users:
        jobs = list(user.jobs)
        if user.login == "acme-fs":
            jobs = [j.model_copy(update={"status": "BS_STOP_SUCCESS", "errors": 0}) for j in jobs]
        if user.login == "obm":
            jobs = [
                SimJob(set=j.set, start=j.start, end=j.end, mode=j.mode,
                       status="BS_STOP_BY_QUOTA_EXCEEDED")
                for j in jobs
            ]  # fmt: skip
        if user.login == "media-agency":  # yesterday's stuck job ended; today's is stuck
            jobs += [j.model_copy(update={"start": "D-2 02:00:00", "end": "D-2 23:10:00"})
                     for j in user.jobs]  # fmt: skip
        users.append(user.model_copy(update={"jobs": jobs}))
    return world.model_copy(update={"users": users, "today": today})


@functools.cache
def _real_runs() -> dict[str, dict[str, MessageContext]]:
    world = demo_data()
    with tempfile.TemporaryDirectory(prefix="cbsalert-demo-messages-") as folder:
        state = Path(folder)
        small = _run(world.model_copy(update={"today": TODAY}), state, MORNING)
        day = timedelta(days=1)
        mixed = _run(_next_day(world, TODAY + day), state, MORNING + day)
    return {"small": small, "mixed": mixed}


def demo_contexts(notifier: str = "ops-slack") -> dict[str, MessageContext]:
    """The message contexts of ``small``, ``mixed`` and ``large`` for one of the demo's
    notifiers (``ops-slack`` hears every rule, ``oncall-email`` fewer). Copies: a caller
    may change them."""
    runs = _real_runs()
    contexts = {name: runs[name][notifier] for name in ("small", "mixed") if notifier in runs[name]}
    contexts["large"] = large_context()
    return copy.deepcopy(contexts)


# -- a large digest, from events -------------------------------------------------------------

_SETS = ("File server D:", "Exchange mailboxes", "SQL Server", "Documents", "Laptop C:")
_OWNERS = ("reseller-north",) * 6 + ("reseller-south", "reseller-east", "", "")


def large_context(count: int = 300, limit: int = MAX_ALERTS) -> MessageContext:
    """``count`` alerts about as many backup sets, as a run of a bad night makes them: one
    reseller's customers failing at once, the others' scattered failures, missed schedules,
    logged errors, some reminders, a few resolved."""
    day = TODAY - timedelta(days=1)
    evening = datetime(day.year, day.month, day.day, 22, 0, tzinfo=ZONE)
    events = []
    for i in range(count):
        owner = _OWNERS[i % len(_OWNERS)]
        set_name = _SETS[i % len(_SETS)]
        kind, rule, severity, summary, extra = _KINDS[(i // 3) % len(_KINDS)]
        if owner == "reseller-north" and i % 4:
            kind, rule, severity, summary, extra = _KINDS[0]
        start = evening + timedelta(minutes=7 * (i % 40))
        finding = Finding(
            rule=rule, kind=kind, severity=severity, firing=i % 25 != 0,
            login=f"customer-{i:03d}", day=day, owner=owner,
            backup_set_id=f"17000{i:08d}", backup_set_name=set_name,
            destination_id=f"17000{i:08d}1", summary=summary.format(set=set_name),
            start_time=start if extra else None,
            end_time=start + timedelta(minutes=25) if extra else None,
            job_id=start.strftime("%Y-%m-%d-%H-%M-%S") if extra else None, **extra,
        )  # fmt: skip
        state: AlertState = (
            "resolved" if not finding.firing else ("repeat" if i % 7 == 3 else "new")
        )
        days = 3 if state == "repeat" else 1
        events.append(AlertEvent(finding, state, since=evening, days_failing=days))
    return build_context(day, str(ZONE), events, MORNING, limit=limit)


_KINDS: list[tuple[str, str, Severity, str, dict[str, Any]]] = [
    ("backup_status", "backup-failed", "critical",
     "Backup of '{set}' failed with BS_STOP_BY_SYSTEM_ERROR.",
     {"status": "BS_STOP_BY_SYSTEM_ERROR", "errors": 2, "warnings": 0}),
    ("missing_backup", "scheduled-backup-missing", "critical",
     "No S backup of '{set}' ran on 2026-11-28.", {}),
    ("error_count", "backup-errors", "warning",
     "Backup of '{set}' logged 4 errors (more than 0).",
     {"status": "BS_STOP_SUCCESS", "errors": 4, "warnings": 0}),
]  # fmt: skip
