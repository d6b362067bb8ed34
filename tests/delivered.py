"""What arrived at the Slack and mail stand-ins, as text a test can search for logins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

from cbsalert.labels import SEVERITY_EMOJI, severity_badge
from tests.fault_world import LOGINS


def logins_in(text: str, logins: Iterable[str] = LOGINS) -> list[str]:
    return [login for login in logins if login in text]


def slack_texts(messages: Iterable[dict[str, Any]]) -> list[str]:
    return [json.dumps(m, ensure_ascii=False) for m in messages]


# An alert's line in a Slack entry: "🔴 Critical · new — Backup of ..." (its badge, then the
# state, which may read "got worse: was warning", "still failing (silenced)", "new · backups
# of ...").
_BADGES = "|".join(re.escape(severity_badge(s)) for s in ("critical", "warning", "info"))
_ALERT_LINE = re.compile(rf"(?:{_BADGES}) · (.+?)(?: \(silenced\))?(?: · backups of [^—]+)? — ")


def slack_states(messages: Iterable[dict[str, Any]], about: str) -> list[str]:
    """The state words (``new``, ``still failing``, ``resolved``...) of every alert in the
    Slack messages whose entry mentions ``about`` (a set's name), in order; the headline
    and summary blocks are not entries."""
    out = []
    for message in messages:
        for block in message["blocks"][1:]:
            text = (block.get("text") or {}).get("text", "")
            if block["type"] != "section" or about not in text:
                continue
            for line in text.splitlines():
                found = _ALERT_LINE.match(line)
                if found:
                    out.append(found.group(1))
                elif line.startswith(SEVERITY_EMOJI["resolved"]) and about in line:
                    out.append("resolved")
    return out


def mail_texts(messages: Iterable[EmailMessage]) -> list[str]:
    out = []
    for message in messages:
        body = message.get_body(("plain",))
        assert body is not None
        out.append(str(message["Subject"]) + "\n" + body.get_content())
    return out


def assert_delivered(
    texts: list[str], logins: Iterable[str], *, expected: int = 1, duplicates: int = 0
) -> None:
    """Every login's alert is in some message, and at most ``duplicates`` messages more
    than ``expected`` arrived (a digest per run is one message)."""
    wanted = list(logins)
    assert sorted({x for text in texts for x in logins_in(text, wanted)}) == sorted(wanted), texts
    assert expected <= len(texts) <= expected + duplicates, texts
