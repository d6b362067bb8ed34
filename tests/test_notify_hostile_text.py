"""Names from the CBS in a mail header or a Slack message: nothing in them acts on a reader.

A set name or login may hold NUL, ESC sequences and bidi overrides (``\\u202e`` turns
``exe.txt`` into what reads as ``txt.exe``), and Slack's mention syntax. Delivered through
the real notifiers to the SMTP and Slack stand-ins on loopback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext, build_context
from cbsalert.notify.email import EmailConfig
from cbsalert.notify.slack import SlackConfig

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
NASTY = "acme\x00\x1b[2J\x1b]0;owned\x07\u202etxt.exe\u2066 \x7f\x9b"
MENTIONS = "@channel @here @everyone <!channel> <!here|here> <!everyone>"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SHOUTS = re.compile(r"@(channel|here|everyone)\b|<!(channel|here|everyone)", re.IGNORECASE)


def hostile_context(count: int = 1) -> MessageContext:
    day = date(2026, 11, 22)
    events = []
    for i in range(count):
        finding = Finding(
            rule="backup-failed", kind="backup_status", severity="critical", firing=True,
            login=f"{NASTY}-{i} {MENTIONS}", day=day, backup_set_id=f"{NASTY}{i}",
            backup_set_name=f"Docs {NASTY} {MENTIONS}", status=f"BS_{NASTY}",
            summary=f"Backup of {NASTY} failed {MENTIONS}",
        )  # fmt: skip
        events.append(AlertEvent(finding, "new"))
    return build_context(day, ZONE, events, NOW)


def test_a_mail_subject_and_body_carry_no_control_or_bidi_characters() -> None:
    with SmtpSink() as smtp:
        config = EmailConfig.model_validate(
            {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "from": "cbsalert@example.com",
             "to": ["oncall@example.com"], "timeout_s": 2}
        )  # fmt: skip
        config.create("mail").send(hostile_context())
        [message] = smtp.messages

    subject = str(message["Subject"])
    assert not UNSAFE.search(subject), repr(subject)
    assert "acme" in subject and "txt.exe" in subject  # the readable rest is kept
    for part in ("plain", "html"):
        body = message.get_body((part,))
        assert body is not None
        assert not UNSAFE.search(re.sub(r"[\r\n\t]", "", body.get_content()))


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit text object (``mrkdwn`` or ``plain_text``) in ``node``, depth first."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text"):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from text_objects(value)


def slack_texts(payload: dict[str, Any]) -> list[str]:
    """Every text a person sees in a Slack payload: the fallback and each text object."""
    return [payload["text"], *(o["text"] for o in text_objects(payload["blocks"]) if "text" in o)]


def mrkdwn_objects(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in text_objects(payload["blocks"]) if o["type"] == "mrkdwn"]


def test_slack_text_has_no_control_characters_and_no_name_can_notify_a_channel() -> None:
    with SlackSink() as slack:
        notifier = SlackConfig(webhook_url=slack.url, timeout_s=1).create("ops")
        notifier.send(hostile_context(1))  # one alert: its name is in the fallback text
        notifier.send(hostile_context(30))  # compact: one line per alert
        payloads = slack.messages

    assert len(payloads) >= 2
    for payload in payloads:
        for text in slack_texts(payload):
            assert not UNSAFE.search(text), repr(text)
            assert not SHOUTS.search(text), text
        # Slack's own switch: no automatic parsing of mentions or links in our text.
        assert all(obj.get("verbatim") is True for obj in mrkdwn_objects(payload))
    assert "acme" in json.dumps(payloads) and "txt.exe" in json.dumps(payloads)
