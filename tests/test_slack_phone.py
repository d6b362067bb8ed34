"""The Slack message as a phone shows it, in a real browser: the demo's real messages (a
small digest, the next day's new/reminder/resolved one, 300 alerts) and the hostile
samples, rendered by ``slack_preview`` in headless Chromium 390 pixels wide. Nothing may
need scrolling sideways or be cut, and the headline and the first entry must be on the
first screen (844 pixels): the five seconds a person gives a message at 7 a.m."""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page

from cbsalert.devtools import slack_preview
from cbsalert.devtools.demo_messages import demo_contexts
from cbsalert.notify import MessageContext, digest
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.testmsg import sample_context
from cbsalert.rules import hint
from tests.browser import PHONE_HEIGHT, PHONE_WIDTH, layout

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
SCRIPTS = Path(__file__).parent.parent / "scripts"


@pytest.fixture(scope="module")
def contexts() -> dict[str, MessageContext]:
    found = demo_contexts()
    found["hostile"] = sample_context(NOW, "Europe/Amsterdam", hostile=True)
    return found


def payloads(context: MessageContext) -> list[dict[str, Any]]:
    notifier = SlackConfig(webhook_url="https://hooks.slack.com/services/T/B/X").create("ops")
    rendered: list[dict[str, Any]] = notifier.render(context)
    return rendered


@pytest.mark.parametrize("name", ["small", "mixed", "large", "hostile"])
def test_the_message_fits_a_phone_and_its_first_screen_says_who_is_broken(
    name: str, contexts: dict[str, MessageContext], page_at: Callable[..., Page]
) -> None:
    context = contexts[name]
    message = digest.message(context)
    first = message["entries"][0]
    page = page_at(PHONE_WIDTH)
    page.set_content(slack_preview.page(payloads(context)))
    # The headline's end, the first entry's name, and (a full entry) its last line.
    ending = message["headline"][-20:]
    name_needle = "the CBS" if first["kind"] == "cbs_unreachable" else str(first["login"])
    last_line = hint(first["alerts"][0])[-25:]
    full = len(message["entries"]) <= 20

    seen = layout(page, [ending, name_needle, last_line])

    assert seen["width"] <= PHONE_WIDTH, "the page scrolls sideways"
    assert seen["outside"] == [], "something is cut or sticks out"
    # The headline, in the notification and atop the message, and below it the first entry.
    headline_bottom = max(box["bottom"] for box in seen["found"][ending])
    assert len(seen["found"][ending]) == 2 and headline_bottom <= PHONE_HEIGHT
    assert any(
        headline_bottom < box["top"] and box["bottom"] <= PHONE_HEIGHT
        for box in seen["found"][name_needle]
    ), "the first entry is not on the first screen"
    if full:
        assert headline_bottom < seen["found"][last_line][0]["bottom"] <= PHONE_HEIGHT


def test_hostile_text_shows_as_text_in_the_page(page_at: Callable[..., Page]) -> None:
    text = "&lt;b&gt;x&lt;/b&gt; <javascript:alert(1)|click>"
    payload = {
        "text": "<script>alert(1)</script>",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
    page = page_at(PHONE_WIDTH)
    page.set_content(slack_preview.page([payload]))

    assert page.locator("script").count() == 0 and page.locator("a").count() == 0
    assert "<b>x</b> click" in page.inner_text(".section")
    assert "<script>alert(1)</script>" in page.inner_text(".notification")


@pytest.mark.slow  # a process of its own, and a browser of its own
def test_the_screenshot_script_writes_the_readmes_picture_of_the_demos_message(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "screenshots.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    png = (tmp_path / "slack-phone.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width == PHONE_WIDTH * 1.5 and height > PHONE_HEIGHT * 1.5  # the whole message
