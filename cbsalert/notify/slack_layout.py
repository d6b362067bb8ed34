"""A Slack message as the on-call person reads it on a phone: who is broken first.

From a message (``digest.message``: the run, the entries, the headline) it lays out:

1. the **headline** (``digest.headline``): the message's ``text``, which is what the
   phone's notification shows, and its first block, in bold;
2. a **summary**: counts by what happened and, over ten entries, by owner; then in small
   print the days checked, the server, when, and how many entries are new or reminders;
3. the **entries**, most severe first, one per backup set and destination, each rendered
   by the entry template (``slack-entry.mrkdwn.j2``, or the user's), dividers between;
4. the **resolved** entries once, after them, one line each;
5. what a limited message **left out** (``run.summary.left_out``), by severity and what
   happened, and the users it is about, by name.

All of it goes into **one message** whenever Block Kit allows (``slack_blocks``): the
entries in full while there are at most ``compact_over`` of them and they fit, else one
line each, else grouped by what happened, new or reminder, and owner (a list of names,
for the big digests of a first run or an outage: user and set, else the users alone).
Only when even that does not fit is the message split, each part saying "part 1 of 2".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cbsalert.labels import SEVERITY_EMOJI, STATE_LABELS, format_time, short_days, state_count
from cbsalert.notify import digest
from cbsalert.notify.slack_blocks import (
    DIVIDER,
    MAX_BLOCKS,
    SECTION_MAX,
    TEXT_MAX,
    Block,
    context,
    fits,
    pack,
    section,
    separated,
    split,
)
from cbsalert.notify.slack_text import bold, clip_mrkdwn, escape_mrkdwn, linked

Entry = Mapping[str, Any]
# Renders one entry's mrkdwn: (entry, compact) -> text (the entry template).
EntryText = Callable[[Entry, bool], str]

NAME_MAX = 40  # a name in a list of names
SHORT_NAME = 30  # a user's name in the shortest form
NAMES_MAX = 1500  # characters of left-out users named before "and N more"
LINE_MAX = 2500  # a line of names in the grouped form, before it goes on on the next


def payloads(message: Mapping[str, Any], entry_text: EntryText, compact_over: int) -> list[
    dict[str, Any]
]:  # fmt: skip
    """The Slack payloads (``text`` + ``blocks``) for a message, usually one."""
    run, entries = message["run"], message["entries"]
    firing = [e for e in entries if not e["resolved"]]
    resolved = [e for e in entries if e["resolved"]]
    head = _head(message, "")
    tail = _left_out(run)
    room = MAX_BLOCKS - len(head) - len(tail) - (2 if resolved else 0)
    forms: list[Callable[[], list[Block]]] = []
    if len(firing) <= compact_over:
        forms.append(lambda: _full(firing, resolved, entry_text, room))
    forms.append(lambda: _lines(firing, resolved, entry_text))
    forms.append(lambda: _grouped(firing, resolved, run))
    forms.append(lambda: _grouped(firing, resolved, run, short=True))
    for form in forms:
        blocks = [*head, *form(), *tail]
        if fits(blocks):
            return [_payload(message["headline"], "", blocks)]
    # The last resort: the grouped form in several messages, each saying which part it is
    # (split with the widest label, so that the real ones fit too).
    widest = "part 99 of 99"
    body = _grouped(firing, resolved, run, short=True)
    parts = split(_head(message, widest), _later_head(message, widest), body, tail)
    payloads = []
    for number, blocks in enumerate(parts, start=1):
        part = f"part {number} of {len(parts)}"
        payloads.append(
            _payload(message["headline"], part, [_headline(message["headline"], part), *blocks[1:]])
        )
    return payloads


def _payload(headline: str, part: str, blocks: list[Block]) -> dict[str, Any]:
    text = escape_mrkdwn(headline + (f" · {part}" if part else ""))
    return {"text": clip_mrkdwn(text, TEXT_MAX), "blocks": blocks}


# -- the top: headline, summary, small print --------------------------------------------------


def _head(message: Mapping[str, Any], part: str) -> list[Block]:
    run, entries = message["run"], message["entries"]
    blocks = [_headline(message["headline"], part)]
    summary = summary_text(run, entries)
    if summary:
        blocks.append(section(summary))
    blocks += [context(context_text(run, entries)), DIVIDER]
    return blocks


def _later_head(message: Mapping[str, Any], part: str) -> list[Block]:
    return [_headline(message["headline"], part)]


def _headline(headline: str, part: str) -> Block:
    return section(bold(headline + (f" · {part}" if part else "")))


def summary_text(run: Mapping[str, Any], entries: Sequence[Entry]) -> str:
    """What happened, counted (``🔴 3 failed · 🟠 2 did not run``), and by owner when the
    run's summary has them: what a reader scans to see one cause behind many entries. Empty
    for a message about a single entry, which says it all by itself."""
    summary = run.get("summary") or {}
    rows = summary.get("what") or []
    firing = sum(1 for e in entries if not e["resolved"]) + (summary.get("left_out") or {}).get(
        "entries", 0
    )
    lines = []
    if firing > 1 and rows:
        lines.append(
            " · ".join(
                f"{SEVERITY_EMOJI.get(str(r['severity']), '')} {r['count']} "
                + escape_mrkdwn(r["what"])
                for r in rows
            )
        )
    owners = summary.get("owners") or []
    if owners:
        by_owner = ", ".join(
            f"{escape_mrkdwn(_name(o['owner'] or 'no owner'))} {o['count']}" for o in owners
        )
        lines.append(f"*By owner:* {by_owner}")
    return "\n".join(lines)


def context_text(run: Mapping[str, Any], entries: Sequence[Entry]) -> str:
    """The small print: which days, which server (linked to its console when the
    configuration names one), when checked, how many are new."""
    if run.get("backups_checked", True) is False:  # the CBS could not be used at all
        bits = ["No backup checked"]
    else:
        bits = [f"Backups of *{short_days(run.get('days') or [run['date']])}*"]
    if run.get("days_not_checked"):
        bits.append(f"not checked: *{short_days(run['days_not_checked'])}*")
    if run.get("server"):  # a message queued by an older cbsalert has none
        bits.append(f"CBS {linked(_name(run['server']), run.get('console_url'))}")
    bits.append(f"checked {format_time(run['generated_at'], run['timezone'])}")
    states = Counter(str(e["state"]) for e in entries)
    counted = [state_count(s, states[s]) for s in STATE_LABELS if states.get(s)]
    if counted and ((run.get("summary") or {}).get("left_out") or {}).get("entries"):
        counted[0] = "listed: " + counted[0]  # the headline counts them all
    bits += counted
    if run.get("test"):
        bits.insert(0, "*Test message* with sample alerts: nothing needs doing")
    return " · ".join(bits)


# -- the entries, in three forms ---------------------------------------------------------------


def _full(
    firing: Sequence[Entry], resolved: Sequence[Entry], entry_text: EntryText, room: int
) -> list[Block]:
    texts = [clip_mrkdwn(entry_text(e, False), SECTION_MAX) for e in firing]
    return [*separated(texts, room), *_resolved(resolved, entry_text)]


def _lines(
    firing: Sequence[Entry], resolved: Sequence[Entry], entry_text: EntryText
) -> list[Block]:
    lines = [clip_mrkdwn(entry_text(e, True), SECTION_MAX) for e in firing]
    return [*(section(t) for t in pack(lines)), *_resolved(resolved, entry_text)]


def _resolved(resolved: Sequence[Entry], entry_text: EntryText) -> list[Block]:
    if not resolved:
        return []
    lines = [clip_mrkdwn(entry_text(e, True), SECTION_MAX) for e in resolved]
    return [DIVIDER, *(section(t) for t in pack(lines))]


def _grouped(
    firing: Sequence[Entry], resolved: Sequence[Entry], run: Mapping[str, Any],
    *, short: bool = False,
) -> list[Block]:  # fmt: skip
    """The entries as lists of names under what happened, new or reminder, and owner:
    ``🔴 *failed · new* (40)`` then ``*reseller1* (25): acme-fs (File server D:), …``;
    ``short``: the users alone (one with several sets once, with their number), when even that
    does not fit."""
    groups: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for entry in [*firing, *resolved]:
        key = (
            "resolved" if entry["resolved"] else str(entry["severity"]),
            str(entry["what"]),
            str(entry["state"]),
        )
        owner = str(entry.get("owner") or "")
        login = str(entry["login"])
        name = escape_mrkdwn(_name(login, SHORT_NAME)) if short else _entry_name(entry, run)
        groups.setdefault(key, {}).setdefault(owner, []).append(name)
    lines = []
    for (icon, what, state), owners in groups.items():
        count = sum(len(names) for names in owners.values())
        label = STATE_LABELS.get(state, state)
        heading = "resolved" if state == "resolved" else f"{what} · {label}"
        lines.append(f"{SEVERITY_EMOJI.get(icon, '')} {bold(heading)} ({count})")
        # The owner with the most first: one reseller's customers failing together is
        # one cause to look for.
        for owner, names in sorted(owners.items(), key=lambda o: -len(o[1])):
            label = _name(owner or "no owner")
            lead = f"{bold(label)} ({len(names)}): " if len(owners) > 1 or owner else ""
            lines += _name_lines(lead, _counted(names) if short else names)
    return [section(text) for text in pack(lines)]


def _counted(names: Sequence[str]) -> list[str]:
    """Each name once, in order, with how often it came when more than once."""
    counts = Counter(names)
    return [f"{name} \u00d7{counts[name]}" if counts[name] > 1 else name for name in counts]


def _name_lines(lead: str, names: Sequence[str]) -> list[str]:
    """``lead`` and the names, comma separated, on lines of at most LINE_MAX characters."""
    lines = [lead]
    for name in names:
        if len(lines[-1]) + len(name) + 2 > LINE_MAX and lines[-1] != lead:
            lines[-1] += ","
            lines.append("")
        lines[-1] += (", " if lines[-1] not in ("", lead) else "") + name
    return lines


def _entry_name(entry: Entry, run: Mapping[str, Any]) -> str:
    name = digest.entry_name(entry, run)
    destination = entry["alerts"][0].get("destination_name")
    if destination:
        name += f" → {_name(destination)}"
    return escape_mrkdwn(name)


def _name(value: object, length: int = NAME_MAX) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= length else text[: length - 1] + "…"


# -- what a limited message left out -----------------------------------------------------------


def _left_out(run: Mapping[str, Any]) -> list[Block]:
    text = left_out_text(run)
    return [DIVIDER, section(text)] if text else []


def left_out_text(run: Mapping[str, Any]) -> str:
    """``*40 more not listed here* (max_alerts): 30 critical, 10 warnings — 30 failed, 10
    did not run`` and the users by name: what a person on a phone can act on, where a
    pointer to a command on the cbsalert host is not."""
    left = (run.get("summary") or {}).get("left_out") or {}
    count = left.get("entries") or 0
    if not count:
        omitted = run.get("omitted") or 0  # a message stored before the summary existed
        return f"*{omitted} more alerts not listed here* (the notifier's max_alerts)" if (
            omitted
        ) else ""  # fmt: skip
    severities = [
        f"{left[s]} {s if s != 'warning' or left[s] == 1 else 'warnings'}"
        for s in ("critical", "warning", "info", "resolved")
        if left.get(s)
    ]
    whats = [f"{r['count']} {escape_mrkdwn(r['what'])}" for r in left.get("what") or []]
    text = f"*{count} more not listed here* (the notifier's max_alerts): " + ", ".join(severities)
    if whats:
        text += " — " + ", ".join(whats)
    names = [escape_mrkdwn(_name(login)) for login in left.get("logins") or []]
    more = left.get("more_logins") or 0
    shown: list[str] = []
    for name in names:
        if sum(len(n) + 2 for n in shown) + len(name) > NAMES_MAX:
            break
        shown.append(name)
    more += len(names) - len(shown)
    if shown:
        text += "\nUsers: " + ", ".join(shown) + (f" and {more} more" if more else "")
    return text
