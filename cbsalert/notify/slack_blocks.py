"""A Slack message's layout in Block Kit: the header with the counts, the context line, one
section per alert (or alerts packed one per line), and the split into messages that each
stay within Slack's limits: at most 50 blocks, 3,000 characters per section, and
``MESSAGE_BUDGET`` characters of blocks JSON.
"""

from __future__ import annotations

import json
from typing import Any

from cbsalert.labels import backups_phrase, counts_phrase, days_phrase, format_time, state_count
from cbsalert.notify.slack_text import escape_mrkdwn, link

MAX_BLOCKS = 50
SECTION_MAX = 3000
MESSAGE_BUDGET = 10_000  # characters of blocks JSON per message; Slack's hard limit is higher


def headline(run: dict[str, Any], part: str, *, emoji: bool = True) -> str:
    counts = run["counts"]
    if counts["critical"]:
        icon = ":rotating_light:"
    elif counts["warning"]:
        icon = ":warning:"
    elif counts["info"]:
        icon = ":information_source:"
    else:
        icon = ":white_check_mark:"
    test = "TEST — " if run.get("test") else ""
    text = f"{test}cbsalert — {counts_phrase(counts)} · {backups_phrase(run)}"
    text = f"{text} {part}".rstrip()
    return f"{icon if not test else ':test_tube:'} {text}" if emoji else text


def intro(run: dict[str, Any], part: str) -> list[dict[str, Any]]:
    counts = run["counts"]
    scope = escape_mrkdwn(backups_phrase(run))
    bits = [scope[:1].upper() + scope[1:]]
    if run.get("server"):  # a message queued by an older cbsalert has no server
        name = escape_mrkdwn(run["server"])
        url = run.get("console_url")
        bits.insert(0, f"CBS *{link(url, run['server'])}*" if url else f"CBS *{name}*")
    if run.get("days_not_checked"):
        bits.append(f"Not checked: *{days_phrase(run['days_not_checked'])}*")
    bits.append(f"times in {escape_mrkdwn(run['timezone'])}")
    bits.append(f"checked {format_time(run['generated_at'], run['timezone'])}")
    for key in ("new", "escalated", "unsilenced", "repeat", "resolved"):
        if counts.get(key):
            bits.append(state_count(key, counts[key]))
    if run.get("test"):
        bits.insert(0, "*Test message* with sample alerts: nothing needs doing")
    context = {"type": "mrkdwn", "text": " · ".join(bits), "verbatim": True}
    header = {"type": "plain_text", "text": headline(run, part)[:150], "emoji": True}
    return [{"type": "header", "text": header}, {"type": "context", "elements": [context]}]


def section(text: str) -> dict[str, Any]:
    # verbatim: Slack links no URL, channel or mention it finds in the text by itself
    # (https://docs.slack.dev/reference/block-kit/composition-objects/text-object).
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def pack(lines: list[str]) -> list[str]:
    """Join one-line alerts into sections of at most SECTION_MAX characters."""
    sections: list[str] = []
    for line in lines:
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_MAX:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return sections


def _size(blocks: list[dict[str, Any]]) -> int:
    return len(json.dumps(blocks, ensure_ascii=False))


def split(
    sections: list[dict[str, Any]], intro: list[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Group sections into messages under MAX_BLOCKS and MESSAGE_BUDGET (with the intro)."""
    room_blocks, room_chars = MAX_BLOCKS - len(intro), MESSAGE_BUDGET - _size(intro) - 2
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for section in sections:
        size = _size([section]) + 1
        if parts[-1] and (len(parts[-1]) >= room_blocks or used + size > room_chars):
            parts.append([])
            used = 0
        parts[-1].append(section)
        used += size
    return parts
