"""What arrived at the Slack and mail stand-ins, as text a test can search for logins."""

from __future__ import annotations

import json
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

from tests.fault_world import LOGINS


def logins_in(text: str, logins: Iterable[str] = LOGINS) -> list[str]:
    return [login for login in logins if login in text]


def slack_texts(messages: Iterable[dict[str, Any]]) -> list[str]:
    return [json.dumps(m, ensure_ascii=False) for m in messages]


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
