"""Words for people: one definition of each phrase that templates, the terminal and the
built-in alerts share (a set's label, what an alert's state is called, counts, days and
times with their zone). Pure: no Jinja, no rich, nothing from the rest of cbsalert, so every
layer may import it; the templates get these as filters (``cbsalert.render``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def days_phrase(days: Iterable[date | str]) -> str:
    """``2026-11-17``, ``2026-11-17 and 2026-11-18``, ``2026-11-16 to 2026-11-18``; days
    that are not consecutive are listed."""
    ordered = sorted({d if isinstance(d, date) else date.fromisoformat(d) for d in days})
    spans: list[list[date]] = []
    for d in ordered:
        if spans and d - spans[-1][-1] == timedelta(days=1):
            spans[-1].append(d)
        else:
            spans.append([d])
    parts: list[str] = []
    for span in spans:
        if len(span) > 2:
            parts.append(f"{span[0]} to {span[-1]}")
        else:
            parts.extend(str(d) for d in span)
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def short_day(day: date | str) -> str:
    """``Sat 28 Nov``: a backup day as a person reads it in a notification (the weekday says
    more than the year). English names whatever the machine's locale."""
    d = day if isinstance(day, date) else date.fromisoformat(day)
    return f"{_WEEKDAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"


def short_days(days: Iterable[date | str]) -> str:
    """``Sat 28 Nov``, ``Thu 26 Nov to Sat 28 Nov``, ``Mon 23 Nov and Wed 25 Nov``: the days
    of ``days_phrase``, each as ``short_day`` says it."""
    phrase = days_phrase(days)
    return re.sub(r"\d{4}-\d{2}-\d{2}", lambda m: short_day(m.group()), phrase)


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- alerts and sets -------------------------------------------------------------------------


def set_label(alert: Mapping[str, Any], *, quote: bool = False) -> str:
    """The set an alert is about: its name, else ``set ID``, else ``all backup sets`` (the
    ``setlabel`` filter the README documents). ``quote`` puts a name in quotes, for a
    summary sentence where a name such as ``Mail and files`` must read as one."""
    name = alert.get("backup_set_name")
    if name:
        return f"'{name}'" if quote else str(name)
    if alert.get("backup_set_id"):
        return f"set {alert['backup_set_id']}"
    return "all backup sets"


# What changed, as one alert in a message or a table says it (README: "still failing, was
# critical"). ``repeat`` and ``firing`` read the same: the alert keeps failing.
STATE_LABELS: dict[str, str] = {
    "new": "new",
    "escalated": "got worse",
    "unsilenced": "silence ended",
    "repeat": "still failing",
    "firing": "still failing",
    "resolved": "resolved",
}

# A number of alerts in each state, as a run's counts say it (``2 new, 1 reminder``,
# ``3 still firing``): ``repeat`` is a reminder that was sent, ``firing`` one nobody heard.
COUNT_LABELS: dict[str, tuple[str, str]] = {
    "new": ("new", "new"),
    "escalated": ("got worse", "got worse"),
    "unsilenced": ("after a silence", "after a silence"),
    "repeat": ("reminder", "reminders"),
    "firing": ("still firing", "still firing"),
    "resolved": ("resolved", "resolved"),
}


def state_label(alert: Mapping[str, Any]) -> str:
    """``new``, ``got worse: was warning``, ``still failing, was critical``: what changed,
    and the severity people last heard when it is not the alert's now."""
    state = str(alert.get("state"))
    label = STATE_LABELS.get(state, state)
    was = alert.get("previous_severity")
    if not was:
        return label
    return f"{label}: was {was}" if state == "escalated" else f"{label}, was {was}"


def state_count(state: str, count: int) -> str:
    """``1 reminder``, ``0 reminders``, ``2 got worse``."""
    one, many = COUNT_LABELS.get(state, (state, state))
    return f"{count} {one if count == 1 else many}"


# -- counts ----------------------------------------------------------------------------------


def plural(count: int | str | None, noun: str) -> str:
    if isinstance(count, str):  # "unknown": a count the CBS sent that cannot be read
        return f"{noun} count {count}"
    count = count or 0
    return f"{count} {noun}{'' if count == 1 else 's'}"


def counts_phrase(counts: Mapping[str, int]) -> str:
    """``2 critical, 1 warning, 1 resolved, 3 users not checked``; ``no alerts`` when there
    is nothing."""
    labels = {"critical": "critical", "warning": "warning", "info": "info", "resolved": "resolved"}
    parts = [
        f"{counts[key]} {label}{'s' if key == 'warning' and counts[key] > 1 else ''}"
        for key, label in labels.items()
        if counts.get(key)
    ]
    unchecked = unchecked_phrase(counts)
    return ", ".join([*parts, unchecked] if unchecked else parts) or "no alerts"


def unchecked_phrase(counts: Mapping[str, int]) -> str:
    """``3 users not checked`` (watched users the run could not check); empty when none.
    ``get``: a message stored by an older cbsalert has no such count."""
    count = counts.get("unchecked") or 0
    return f"{plural(count, 'user')} not checked" if count else ""


def run_days(run: Mapping[str, Any]) -> str:
    """The days a message's run checked: ``2026-11-22``, ``2026-11-20 to 2026-11-22``.
    ``get``: a message stored by an older cbsalert has only ``date``."""
    return days_phrase(run.get("days") or [run["date"]])


# -- times -----------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse(value: str | datetime, zone: str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(_zone(zone)) if moment.tzinfo else moment


def format_time(value: str | datetime | None, zone: str, *, date: bool = True) -> str:
    """``2026-11-22 22:15 CET``: every time a person reads carries its zone."""
    if value is None:
        return ""
    moment = _parse(value, zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z" if date else "%H:%M %Z").strip()


def format_span(alert: Mapping[str, Any], zone: str) -> str:
    """When the job ran: ``ran 2026-11-22 22:15-23:40 CET``, ``started ..., no end time``."""
    start, end = alert.get("start_time"), alert.get("end_time")
    if start is None and end is None:
        return ""
    if start is None:
        return f"ended {format_time(end, zone)}"
    if end is None:
        return f"started {format_time(start, zone)}, no end time"
    first, last = _parse(start, zone), _parse(end, zone)
    if first.date() == last.date() and first.tzname() == last.tzname():
        return f"ran {first:%Y-%m-%d %H:%M}\u2013{last:%H:%M} {last:%Z}".strip()
    return f"ran {format_time(first, zone)} → {format_time(last, zone)}"


# -- text ------------------------------------------------------------------------------------


def oneline(value: object) -> str:
    return " ".join(str(value).split())


def clip(value: object, length: int = 300) -> str:
    """Cut a string to ``length`` characters, ending in an ellipsis when it was cut."""
    text = str(value)
    return text if len(text) <= length else text[: max(length - 1, 0)].rstrip() + "…"
