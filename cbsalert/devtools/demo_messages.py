"""The demo's messages as a person gets them, made by real runs.

The browser tests render these messages and ``scripts/screenshots.py`` photographs them,
so both see what the templates make of what the pipeline really sends, not of a
hand-written dict that can look right while real messages are wrong. Each scenario starts
the simulated CBS with a world, the Slack and SMTP stand-ins, and runs ``run_once`` over one
state database for one or more mornings; it returns what the stand-ins received.

* ``small``: the demo's own world, checked once (``cbsalert demo``'s first run).
* ``mixed``: the demo's world, then the next morning one set fixed (resolved), one still
  not run (a reminder) and one new failure.
* ``many``: ``count`` users with a broken backup set each, spread over a few resellers.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cbsalert.config import Config
from cbsalert.devtools.demo import demo_data, demo_settings
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.pipeline import run_once

# The morning the scenarios are checked on: the screenshots say "backups of Sat 28 Nov"
# whatever day they are made on.
TODAY = date(2026, 11, 29)
CHECK_AT = time(7, 0)


@dataclass
class Delivered:
    """What reached the stand-ins in a scenario's last run."""

    emails: list[EmailMessage] = field(default_factory=list)
    slack: list[dict[str, Any]] = field(default_factory=list)

    def html(self) -> str:
        """The HTML part of the (only) email."""
        [email] = self.emails
        part = email.get_body(preferencelist=("html",))
        assert part is not None, "the email has no HTML part"
        return str(part.get_content())


Settings = Callable[[dict[str, Any]], None]


@contextmanager
def _stand_ins(world: SimData) -> Iterator[tuple[Simulator, SlackSink, SmtpSink, Path]]:
    with (
        tempfile.TemporaryDirectory(prefix="cbsalert-scenario-") as folder,
        Simulator(world) as sim,
        SlackSink() as slack,
        SmtpSink() as smtp,
    ):
        yield sim, slack, smtp, Path(folder)


def _morning(day: date, zone: str) -> datetime:
    return datetime.combine(day, CHECK_AT, tzinfo=ZoneInfo(zone))


def _run(worlds: list[SimData], change: Settings | None = None) -> Delivered:
    """Check each world on its own morning (the first on ``TODAY - len + 1``), one state
    database throughout; what the last morning delivered."""
    first = TODAY - timedelta(days=len(worlds) - 1)
    with _stand_ins(worlds[0].model_copy(update={"today": first})) as (sim, slack, smtp, dir_):
        settings = demo_settings(sim, slack, smtp, dir_)
        if change is not None:
            change(settings)
        config = Config.model_validate(settings)
        for n, world in enumerate(worlds):
            today = first + timedelta(days=n)
            sim.set_data(world.model_copy(update={"today": today}))
            slack_seen, mail_seen = len(slack.messages), len(smtp.messages)
            asyncio.run(run_once(config, now=_morning(today, world.timezone)))
        return Delivered(smtp.messages[mail_seen:], slack.messages[slack_seen:])


def small() -> Delivered:
    """The demo's world, checked once."""
    return _run([demo_data()])


def mixed() -> Delivered:
    """New, reminder and resolved in one message: the demo's world, then the next morning
    acme-fs's file server backed up again, lawfirm's Exchange set still did not run on
    schedule (a reminder: the rule repeats daily), architect's backup failed and
    media-agency's long job finished."""
    first = demo_data()
    users = []
    for user in first.users:
        jobs = [job.model_dump() for job in user.jobs]
        for job in jobs:
            if user.login == "acme-fs":
                job.update(status="BS_STOP_SUCCESS", errors=0)
            if user.login == "architect":
                job.update(status="BS_STOP_BY_SYSTEM_ERROR", errors=3)
            if job["end"] is None:  # yesterday's long job has finished since
                job.update(start=job["start"].replace("D-1", "D-2"), end="D-1 04:10:00")
        users.append({**user.model_dump(), "jobs": jobs, "restores": []})
    second = SimData.model_validate({**first.model_dump(), "users": users})

    def daily_reminders(settings: dict[str, Any]) -> None:
        for rule in settings["rules"]:
            rule["repeat_interval"] = "24h"

    return _run([first, second], daily_reminders)


def many(count: int = 300) -> Delivered:
    """``count`` users of five resellers, each with a set that failed (two in three) or did
    not run on schedule (one in three): a morning after a systemic failure."""
    users = []
    for n in range(count):
        set_id = f"{1800000000000 + n}"
        user: dict[str, Any] = {
            "login": f"customer-{n:04}",
            "owner": f"reseller{n % 5 + 1}",
            "backup_sets": [{"id": set_id, "name": f"Server {n % 7 + 1} (daily)"}],
            "jobs": [],
        }
        if n % 3:
            user["jobs"] = [
                {"set": set_id, "start": "D-1 22:00:00", "end": "D-1 22:31:10", "mode": "S",
                 "status": "BS_STOP_BY_SYSTEM_ERROR", "errors": 1 + n % 4}
            ]  # fmt: skip
        users.append(user)
    world = SimData.model_validate({**demo_data().model_dump(), "users": users, "latency_ms": 0.0})

    def faster(settings: dict[str, Any]) -> None:
        settings["cbs"]["max_concurrency"] = 16

    return _run([world], faster)


SCENARIOS: dict[str, Callable[[], Delivered]] = {"small": small, "mixed": mixed, "many": many}


def _ignore_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    """A WSGI start_response that keeps nothing: the screenshot wants the page only."""
    return lambda _data: None


def _day_of(world: SimData, ago: int) -> SimData:
    """The demo's world as it was ``ago`` days before its last day: acme-fs's file server
    failed now and then, architect's backup once, media-agency's long job was still
    running only on the last day; lawfirm's Exchange set never ran on schedule."""
    users = []
    for user in world.users:
        jobs = [job.model_dump() for job in user.jobs]
        for job in jobs:
            if user.login == "acme-fs" and ago not in (0, 4, 9):
                job.update(status="BS_STOP_SUCCESS", errors=0)
            if user.login == "architect" and ago == 6:
                job.update(status="BS_STOP_BY_SYSTEM_ERROR", errors=3)
            if job["end"] is None and ago:
                job.update(end="D-1 04:10:00")
        users.append({**user.model_dump(), "jobs": jobs, "restores": []})
    return SimData.model_validate({**world.model_dump(), "users": users})


def status_page(days: int = 14) -> str:
    """The status page (``/``) after ``days`` daily checks of the demo's world, each on its
    own morning, as ``serve`` answers it."""
    from cbsalert.statuspage import StatusPages

    world = demo_data()
    first = TODAY - timedelta(days=days - 1)
    with _stand_ins(world.model_copy(update={"today": first})) as (sim, slack, smtp, dir_):
        settings = demo_settings(sim, slack, smtp, dir_)
        settings.update(metrics_port=0, status_page={"enabled": True})
        settings["cbs"]["name"] = "backup.example.com"
        config = Config.model_validate(settings)
        for n in range(days):
            today = first + timedelta(days=n)
            sim.set_data(_day_of(world, days - 1 - n).model_copy(update={"today": today}))
            asyncio.run(run_once(config, now=_morning(today, world.timezone)))
        now = _morning(TODAY, world.timezone)
        pages = StatusPages(lambda: config, clock=lambda: now)
        try:
            environ = {"PATH_INFO": "/", "QUERY_STRING": "", "REQUEST_METHOD": "GET"}
            body = b"".join(pages(environ, _ignore_status))
        finally:
            pages.close()
    return body.decode("utf-8")
