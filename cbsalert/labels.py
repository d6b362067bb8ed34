"""Words for people: one definition of each phrase that templates, the terminal and the
built-in alerts share (a set's label, what an alert's state is called, severities, counts,
days and times with their zone). Pure: no Jinja, no rich, nothing from the rest of cbsalert
but the CBS's vocabulary (``cbsalert.cbswords``), so every layer may import it; the
templates get these as filters (``cbsalert.render``).

Words, not codes: a person reads a severity as a word with an emoji (colour alone fails
colour-blind readers, and the three circles differ only in colour), a CBS status as words
with its constant once, a destination by its name, and a count or a job id only when it
says something.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cbsalert.cbswords import SUCCESS_STATUSES, status_phrase


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


def short_days(days: Iterable[date | str]) -> str:
    """``Sat 28 Nov``, ``Thu 26 Nov to Sat 28 Nov``, ``Mon 23 Nov and Wed 25 Nov``: the days
    of ``days_phrase``, each as ``day_label`` says it."""
    phrase = days_phrase(days)
    return re.sub(r"\d{4}-\d{2}-\d{2}", lambda m: day_label(m.group()), phrase)


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


# -- severities ------------------------------------------------------------------------------

# How a person reads a severity: a word and an emoji. The word is what matters (the circles
# differ only in colour); the emoji is for the eye scanning a phone's list.
SEVERITY_WORDS: dict[str, str] = {
    "critical": "Critical",
    "warning": "Warning",
    "info": "Info",
    "resolved": "Resolved",
}
SEVERITY_EMOJI: dict[str, str] = {
    "critical": "\U0001f534",  # red circle
    "warning": "\U0001f7e0",  # orange circle
    "info": "\U0001f535",  # blue circle
    "resolved": "\u2705",  # check mark
}
UNKNOWN_SEVERITY_EMOJI = "\u2754"  # white question mark


def severity_key(alert: Mapping[str, Any]) -> str:
    """``resolved`` for a resolved alert (it needs nothing, whatever it was), else its
    severity: the key of its badge and colours."""
    return "resolved" if alert.get("state") == "resolved" else str(alert.get("severity"))


def severity_badge(severity: str, *, emoji: bool = True) -> str:
    """``🔴 Critical``, ``🟠 Warning``, ``🔵 Info``, ``✅ Resolved``; ``Critical`` without
    ``emoji``. A severity this version does not know is shown as itself."""
    word = SEVERITY_WORDS.get(severity, severity)
    if not emoji:
        return word
    return f"{SEVERITY_EMOJI.get(severity, UNKNOWN_SEVERITY_EMOJI)} {word}"


def alert_badge(alert: Mapping[str, Any], *, emoji: bool = True) -> str:
    """An alert's badge (``severity_badge``): ``✅ Resolved`` once it is resolved."""
    return severity_badge(severity_key(alert), emoji=emoji)


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


# -- what a job says: counts, destination, job id --------------------------------------------


def _count_parts(alert: Mapping[str, Any]) -> list[str]:
    return [
        plural(alert.get(key), noun)
        for key, noun in (("errors", "error"), ("warnings", "warning"))
        if alert.get(key)  # None and 0 say nothing; "unknown" does
    ]


def job_counts(alert: Mapping[str, Any]) -> str:
    """``12 errors · 3 warnings``: each count that says something (more than zero, or one
    the CBS sent unreadable); empty when none does. A failed or running job's report says
    ``0 errors`` about work it never did, so a zero is never shown."""
    return " · ".join(_count_parts(alert))


def destination_label(alert: Mapping[str, Any]) -> str:
    """``destination Offsite S3``: a destination by the name GetBackupSet gave it;
    ``destination id 1700000000002`` only when the server gave no name; empty when the
    job's destination is unknown (or the alert is about none)."""
    name, dest_id = alert.get("destination_name"), alert.get("destination_id")
    if name:
        return f"destination {name}"
    return f"destination id {dest_id}" if dest_id else ""


def _minute(value: object) -> str:
    """A stored time (ISO 8601, in the display zone) to the minute a message shows."""
    return str(value)[:16]


def job_label(alert: Mapping[str, Any], alerts: Iterable[Mapping[str, Any]] = ()) -> str:
    """``job 2026-11-22-22-15-00``, only when the id says more than the job's start time.

    The CBS's job ids are start times (``yyyy-MM-dd-HH-mm-ss``) and messages show the start
    time anyway, so the id is shown only where that time does not tell the job apart: the
    alert has no start time, or another alert of ``alerts`` (the same message) is about a
    different job of the same user, set and day that started in the same minute (two jobs
    of a set that day, which read the same at minute precision). Empty otherwise."""
    job_id = alert.get("job_id")
    if not job_id:
        return ""
    start = alert.get("start_time")
    if not start:
        return f"job {job_id}"
    for other in alerts:
        if (
            other.get("job_id") not in (None, job_id)
            and _minute(other.get("start_time")) == _minute(start)
            and all(other.get(k) == alert.get(k) for k in ("login", "backup_set_id", "date"))
        ):
            return f"job {job_id}"
    return ""


def _said(part: str, summary: str) -> bool:
    """Whether ``summary`` already says ``part`` (as whole words: ``1 error`` is not in
    ``11 errors``)."""
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", summary) is not None


def job_facts(
    alert: Mapping[str, Any],
    alerts: Iterable[Mapping[str, Any]] = (),
    *,
    destination: bool = True,
    said: str = "",
) -> str:
    """What a person needs about an alert's job beyond its summary, each fact once, joined
    by `` · ``: its status in words (``cbswords.status_phrase``) unless it is success or
    the summary says it, the counts that say something (``job_counts``) and the summary
    does not already say, the destination by name, the job id when it says more than the
    start time (``job_label``); ``destination=False`` leaves the destination to a layout that
    shows it once per entry, ``said`` is more text the reader sees with it (the summaries of
    the other alerts about the job, in a layout that shows the job's facts once for them
    all), not to be repeated either. ``completed with warnings
    (BS_STOP_SUCCESS_WITH_WARNING) · 2 warnings · destination Offsite S3``; empty when there
    is nothing to add."""
    summary = " ".join([str(alert.get("summary") or ""), said])
    status = alert.get("status")
    parts = []
    if status and status not in SUCCESS_STATUSES and not _said(str(status), summary):
        parts.append(status_phrase(status))
    parts += [c for c in _count_parts(alert) if not _said(c, summary)]
    parts += [destination_label(alert) if destination else "", job_label(alert, alerts)]
    return " · ".join(p for p in parts if p)


def day_label(day: date | str) -> str:
    """``Thu 26 Nov``: a backup day as a person says it (English, whatever the locale)."""
    d = day if isinstance(day, date) else date.fromisoformat(day)
    return f"{_WEEKDAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"


def failing_phrase(alert: Mapping[str, Any], *, capital: bool = False) -> str:
    """How long an alert has been (or was) failing, in backup days, from its
    ``first_failed_day`` and ``days_failing``:

    * firing: ``failing since Thu 26 Nov, 3 days`` (one day: ``failing since Thu 26 Nov``);
    * resolved: ``was failing for 3 days, since Thu 26 Nov`` (one day: ``was failing on
      Thu 26 Nov``);
    * empty when the alert does not say (a message queued by an older cbsalert).

    ``capital`` starts it with a capital letter, for a line of its own."""
    first, days = alert.get("first_failed_day"), alert.get("days_failing")
    if not first or not isinstance(days, int) or days < 1:
        return ""
    since = day_label(first)
    if alert.get("state") == "resolved" and days == 1:
        text = f"was failing on {since}"
    elif alert.get("state") == "resolved":
        text = f"was failing for {days} days, since {since}"
    else:
        text = f"failing since {since}" + ("" if days == 1 else f", {days} days")
    return text[:1].upper() + text[1:] if capital else text


# -- counts ----------------------------------------------------------------------------------


def plural(count: int | str | None, noun: str) -> str:
    if isinstance(count, str):  # "unknown": a count the CBS sent that cannot be read
        return f"{noun} count {count}"
    count = count or 0
    return f"{count} {noun}{'' if count == 1 else 's'}"


def number(value: float) -> str:
    """``12,400``: a count as people read it, rounded to a whole number."""
    return f"{round(value):,}"


_SIZE_UNITS = ("bytes", "KB", "MB", "GB", "TB", "PB")


def data_size(value: float) -> str:
    """``1.2 GB``, ``840 MB``, ``512 bytes``: a size in bytes, in units of 1024 as AhsayCBS
    shows them; three significant figures at most."""
    size, unit = float(value), 0
    while size >= 1024 and unit < len(_SIZE_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    if unit == 0:
        return f"{round(size):,} bytes"
    return f"{size:.3g} {_SIZE_UNITS[unit]}" if size < 1000 else f"{size:,.0f} {_SIZE_UNITS[unit]}"


def run_time(seconds: float) -> str:
    """``5 h 10 min``, ``45 min``, ``30 s``: how long a job ran, to the minute once it is
    one."""
    seconds = max(round(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours:,} h {minutes} min" if minutes else f"{hours:,} h"


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


def backups_phrase(run: Mapping[str, Any]) -> str:
    """What a message's run checked: ``backups of 2026-11-22`` (``run_days``), or ``no
    backup checked`` when it could not use the CBS (``backups_checked`` false), so a message
    about an outage never names a day as checked. ``get``: older messages lack the key."""
    if run.get("backups_checked", True) is False:
        return "no backup checked"
    return f"backups of {run_days(run)}"


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
