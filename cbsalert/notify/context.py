"""The message context: the one place that says what data a message is made from.

A run hands each notifier a *message context* (plain JSON-able data): the state store keeps
it in the delivery row, so a delivery that failed, or was cut short by a crash, is rendered
and sent again from the same data on a later run. The README documents it ("Template
context"); the sample alerts of ``cbsalert validate`` are built with it too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cbsalert.model import AlertEvent
from cbsalert.notify import digest
from cbsalert.rules import about_server
from cbsalert.silenceline import SILENCE_DAYS, silence_command

MessageContext = dict[str, Any]


def build_context(
    day: date,
    timezone: str,
    events: list[AlertEvent],
    now: datetime,
    *,
    test: bool = False,
    limit: int | None = None,
    unchecked: int = 0,
    days: Sequence[date] = (),
    not_checked: Sequence[date] = (),
    server: str = "",
    console_url: str | None = None,
    backups_checked: bool = True,
) -> MessageContext:
    """The data every template sees; documented in the README ("Template context").

    Alerts are grouped into entries, one per backup set and destination, worst first
    (``cbsalert.notify.digest``). With ``limit``, only the first ``limit`` entries are
    listed; ``run.counts`` and ``run.summary`` still count them all and ``run.omitted``
    says how many alerts were left out.
    ``unchecked`` is the number of watched users the run could not check (a fact about the
    run, told in every message's header whether or not their alerts are in this message).
    ``days`` are the days the run checked (``day`` the newest; several when it caught up
    missed days: each alert's ``date`` then says which one it is about), ``not_checked``
    the missed days it gave up; ``backups_checked`` is False when it checked none (the CBS
    could not be used: the message must not claim ``days`` were checked). ``server`` names
    the CBS (``cbs.name``); ``console_url`` is its web console (``cbs.console_url``).
    """
    until = now.astimezone(ZoneInfo(timezone)).date() + timedelta(days=SILENCE_DAYS)
    groups = digest.order(_alert(e, console_url, until) for e in events)
    listed = len(groups) if limit is None else limit
    alerts = [a for group in groups for a in group]
    states = Counter(a["state"] for a in alerts)
    active = [a for a in alerts if a["state"] != "resolved"]
    severities = Counter(a["severity"] for a in active)
    shown = [a for group in groups[:listed] for a in group]
    return {
        "run": {
            "date": day.isoformat(),
            "days": [d.isoformat() for d in days or [day]],
            "days_not_checked": [d.isoformat() for d in not_checked],
            "timezone": timezone,
            "generated_at": now.isoformat(),
            "test": test,
            "server": server,
            "console_url": console_url,
            "backups_checked": backups_checked,
            "omitted": len(alerts) - len(shown),
            "counts": {
                "critical": severities.get("critical", 0),
                "warning": severities.get("warning", 0),
                "info": severities.get("info", 0),
                "new": states.get("new", 0),
                "escalated": states.get("escalated", 0),
                "unsilenced": states.get("unsilenced", 0),
                "repeat": states.get("repeat", 0),
                "resolved": states.get("resolved", 0),
                "total": len(alerts),
                "unchecked": unchecked,
            },
            "summary": digest.summary(groups, listed),
        },
        "alerts": shown,
    }


def _alert(event: AlertEvent, console_url: str | None, until: date) -> dict[str, Any]:
    """One alert's row: the event's fields, and what a message needs to show it: whether it
    is about the server (``about_server``), a link to the CBS console (``console_url``: the
    console itself, AhsayCBS has no documented per-user address) and, while it fires, the
    command that silences it for ``SILENCE_DAYS`` days (``silence_command``)."""
    alert = event.to_dict()
    alert["about_server"] = about_server(alert)
    alert["console_url"] = console_url
    firing = alert["state"] != "resolved"
    alert["silence_command"] = silence_command(alert, until) if firing else None
    return alert
