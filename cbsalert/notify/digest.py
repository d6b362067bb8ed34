"""A message as the reader needs it first: who is broken, how badly, since when.

The message context lists alerts (``cbsalert.notify.context``); a person reads *backup
sets*. So a message is made of **entries**: one per backup set and destination (per user
for an alert about the user, one for the server), carrying every alert about it, most
severe first. A failed job that also logged an error is one entry, not two rows apart;
when it is fixed, one resolved entry. Firing entries come first, worst first; resolved ones
last.

``build_context`` orders and limits the alerts by entry (``order``) and stores the
run-wide ``summary`` (counts by what happened and by owner, and what a long message left
out), because those must count every alert, listed or not. ``entries`` and ``headline``
are derived again when a message is rendered, from the stored alerts, so a delivery
retried from the outbox renders the same way. Pure: plain dicts in, plain dicts out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any

from cbsalert.labels import SEVERITY_EMOJI, clip, plural, set_label, short_days
from cbsalert.model import SEVERITY_ORDER
from cbsalert.rules import what_happened

Alert = Mapping[str, Any]
Entry = dict[str, Any]

# What a firing entry says changed, the most newsworthy first (one new alert makes it new).
_STATE_RANK = {"new": 0, "escalated": 1, "unsilenced": 2, "repeat": 3, "firing": 4}
OWNERS_OVER = 10  # firing entries above which the summary counts them by owner
OWNERS_SHOWN = 5
LOGINS_LISTED = 100  # left-out users named in a message; the rest are counted
NAMES_IN_HEADLINE = 2


def entry_key(alert: Alert) -> tuple[bool, str, str, str]:
    """What makes two alerts one entry: resolved or not, the user, the set, the destination."""
    return (
        alert.get("state") == "resolved",
        str(alert.get("login") or ""),
        str(alert.get("backup_set_id") or ""),
        str(alert.get("destination_id") or ""),
    )


def _severity_rank(alert: Alert) -> int:
    return SEVERITY_ORDER.get(str(alert.get("severity")), 9)


def order(alerts: Iterable[Alert]) -> list[list[Alert]]:
    """The alerts grouped into entries and put in reading order: firing before resolved,
    the worst entry first (then by user and set name), and inside an entry the most
    severe alert first."""
    groups: dict[tuple[bool, str, str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(entry_key(alert), []).append(alert)
    for group in groups.values():
        group.sort(key=lambda a: (_severity_rank(a), str(a.get("rule")), str(a.get("date"))))
    return sorted(
        groups.values(),
        key=lambda g: (
            g[0].get("state") == "resolved",
            _severity_rank(g[0]),
            str(g[0].get("login") or ""),
            str(g[0].get("backup_set_name") or ""),
            str(g[0].get("destination_id") or ""),
        ),
    )


def entries(alerts: Sequence[Alert]) -> list[Entry]:
    """The entries of alerts already in ``order``'s order (a message's ``alerts``)."""
    return [_entry(list(group)) for _, group in groupby(alerts, key=entry_key)]


def _entry(alerts: list[Alert]) -> Entry:
    first = alerts[0]
    resolved = first.get("state") == "resolved"
    state = "resolved" if resolved else min(
        (str(a.get("state")) for a in alerts), key=lambda s: _STATE_RANK.get(s, 9)
    )  # fmt: skip
    return {
        "login": first.get("login"),
        "owner": first.get("owner"),
        "kind": first.get("kind"),
        "backup_set_id": first.get("backup_set_id"),
        "backup_set_name": first.get("backup_set_name"),
        "destination_id": first.get("destination_id"),
        "severity": first.get("severity"),
        "state": state,
        "resolved": resolved,
        "what": what_happened(str(first.get("kind"))),
        "alerts": alerts,
    }


def summary(groups: Sequence[Sequence[Alert]], listed: int) -> dict[str, Any]:
    """Run-wide counts of a message's entries (``groups`` from ``order``, all of them),
    of which the first ``listed`` are in the message:

    * ``entries``: firing entries by severity, and resolved ones;
    * ``what``: firing entries by what happened, the most severe and most frequent first;
    * ``owners``: over ``OWNERS_OVER`` firing entries, the owners with the most of them (a
      reseller whose customers all fail at once is one cause, not forty);
    * ``left_out``: what the message could not list, by severity and what happened, and
      the users it is about (the first ``LOGINS_LISTED`` named, the rest counted).
    """
    firing = [g[0] for g in groups if g[0].get("state") != "resolved"]
    severities = Counter(str(a.get("severity")) for a in firing)
    counts = {s: severities.get(s, 0) for s in ("critical", "warning", "info")}
    counts["resolved"] = len(groups) - len(firing)
    owners = Counter(str(a.get("owner") or "") for a in firing)
    return {
        "entries": counts,
        "what": _by_what(firing),
        "owners": [
            {"owner": owner or None, "count": count}
            for owner, count in owners.most_common(OWNERS_SHOWN)
        ]
        if len(firing) > OWNERS_OVER
        else [],
        "left_out": _left_out([g[0] for g in groups[listed:]]),
    }


def _by_what(worst: Sequence[Alert]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for alert in worst:
        what = what_happened(str(alert.get("kind")))
        row = found.setdefault(what, {"what": what, "count": 0, "severity": alert["severity"]})
        row["count"] += 1
        if _severity_rank(alert) < SEVERITY_ORDER.get(row["severity"], 9):
            row["severity"] = alert["severity"]
    return sorted(found.values(), key=lambda r: (SEVERITY_ORDER.get(r["severity"], 9), -r["count"]))


def _left_out(worst: Sequence[Alert]) -> dict[str, Any]:
    firing = [a for a in worst if a.get("state") != "resolved"]
    severities = Counter(str(a.get("severity")) for a in firing)
    # An alert about the server has a placeholder login ("(cbs)", "(watch)"): no user to name.
    users = [a for a in worst if not a.get("about_server")]
    logins = list(dict.fromkeys(str(a.get("login") or "") for a in users))
    return {
        "entries": len(worst),
        "critical": severities.get("critical", 0),
        "warning": severities.get("warning", 0),
        "info": severities.get("info", 0),
        "resolved": len(worst) - len(firing),
        "what": _by_what(firing),
        "logins": logins[:LOGINS_LISTED],
        "more_logins": max(0, len(logins) - LOGINS_LISTED),
    }


# -- naming ----------------------------------------------------------------------------------


def entry_name(entry: Mapping[str, Any], run: Mapping[str, Any] | None = None) -> str:
    """Who an entry is about, shortly: ``acme-fs (File server D:)``; the user alone for an
    alert about the user; the server for the meta-alert."""
    if entry.get("kind") == "cbs_unreachable":
        server = (run or {}).get("server")
        return f"CBS {clip(server, 40)}" if server else "the CBS"
    login = clip(str(entry.get("login") or ""), 30)
    if not entry.get("backup_set_id") and not entry.get("backup_set_name"):
        return login
    label = clip(set_label(entry), 30)
    # "dental (Patients (daily))" doubles its brackets: a set named with them gets a dot.
    return f"{login} · {label}" if "(" in label or ")" in label else f"{login} ({label})"


def headline(run: Mapping[str, Any], listed: Sequence[Entry]) -> str:
    """The line a phone shows first (Slack's ``text``, the email subject and preheader):
    the worst entries by name, then the other counts, then the days, e.g.
    ``🔴 3 critical — acme-fs (File server D:), lawfirm (Exchange) +1 · 2 warnings ·
    backups of Sat 28 Nov``. One entry alone is named with what happened to it. Plain text:
    each notifier escapes it for its medium."""
    counts = dict(run.get("summary", {}).get("entries") or _counts(listed))
    checked = run.get("backups_checked", True)  # the CBS could not be used: no day checked
    days = [f"backups of {short_days(run.get('days') or [run['date']])}"] if checked else []
    test = "TEST · " if run.get("test") else ""
    unchecked = run.get("counts", {}).get("unchecked") or 0
    tail = [f"{plural(unchecked, 'user')} not checked"] if unchecked and checked else []
    if not listed:
        return test + " · ".join(["No alerts", *tail, *days])
    total = sum(counts.values())
    if total == 1 and len(listed) == 1:
        entry = listed[0]
        icon = SEVERITY_EMOJI["resolved" if entry["resolved"] else str(entry["severity"])]
        summary_text = clip(str(entry["alerts"][0].get("summary") or entry["what"]), 120)
        if entry.get("kind") != "cbs_unreachable":  # the meta-alert's summary names the server
            summary_text = f"{entry_name(entry, run)}: {summary_text}"
        return test + " · ".join([f"{icon} {summary_text}", *tail, *days])
    worst = next((s for s in ("critical", "warning", "info", "resolved") if counts.get(s)), "")
    named = [e for e in listed if (e["state"] == "resolved") == (worst == "resolved")]
    named = [e for e in named if worst == "resolved" or e["severity"] == worst]
    names = ", ".join(entry_name(e, run) for e in named[:NAMES_IN_HEADLINE])
    more = counts[worst] - min(len(named), NAMES_IN_HEADLINE)
    icon = SEVERITY_EMOJI.get(worst, "")
    lead = f"{icon} {counts[worst]} {_word(worst, counts[worst])} — {names}"
    lead += f" +{more}" if more > 0 else ""
    others = [
        f"{counts[s]} {_word(s, counts[s])}"
        for s in ("critical", "warning", "info", "resolved")
        if s != worst and counts.get(s)
    ]
    return test + " · ".join([lead, *others, *tail, *days])


def _word(severity: str, count: int) -> str:
    return "warnings" if severity == "warning" and count != 1 else severity


def _counts(listed: Sequence[Entry]) -> dict[str, int]:
    """Counts of the listed entries, for a message stored before ``summary`` existed."""
    counts = Counter(
        "resolved" if e["resolved"] else str(e["severity"]) for e in listed
    )  # fmt: skip
    return {s: counts.get(s, 0) for s in ("critical", "warning", "info", "resolved")}


def message(context: Mapping[str, Any]) -> dict[str, Any]:
    """What every notifier renders from: the context's ``run`` and ``alerts``, plus the
    ``entries`` they make and the ``headline``. The templates' documented variables."""
    run, alerts = context["run"], context["alerts"]
    listed = entries(alerts)
    return {"run": run, "alerts": alerts, "entries": listed, "headline": headline(run, listed)}
