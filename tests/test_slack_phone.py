"""The Slack message as a phone shows it, in a real browser: the demo's real messages (a
small digest, the next day's new/reminder/resolved one, 300 users failing at once) and the
hostile samples, rendered by ``slack_preview`` in headless Chromium 390 pixels wide.
Nothing may need scrolling sideways or be cut, and the headline and the first entry must be
on the first screen (844 pixels): the five seconds a person gives a message at 7 a.m."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.devtools import demo_messages, slack_preview
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_blocks import DIVIDER
from cbsalert.notify.testmsg import sample_context
from tests.browser import PHONE, SCREEN_HEIGHT, layout

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from cbsalert.devtools.browser import Chromium

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


def hostile() -> list[dict[str, Any]]:
    notifier = SlackConfig(webhook_url="https://hooks.slack.com/services/T/B/X").create("ops")
    payloads: list[dict[str, Any]] = notifier.render(
        sample_context(NOW, "Europe/Amsterdam", hostile=True)
    )
    return payloads


MESSAGES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "small digest": lambda: demo_messages.small().slack,
    "new, reminder and resolved": lambda: demo_messages.mixed().slack,
    "300 users": lambda: demo_messages.many(300).slack,
    "hostile samples": hostile,
}
# Few enough entries to be shown in full, each with what to do (the others are lists).
FULL = ("small digest", "new, reminder and resolved")


def shown(mrkdwn: str) -> str:
    """A piece of one line of mrkdwn as the page shows it (its entities as characters)."""
    return html.unescape(mrkdwn)


@pytest.mark.parametrize("name", MESSAGES)
def test_the_message_fits_a_phone_and_its_first_screen_says_who_is_broken(
    browser: Chromium, name: str
) -> None:
    payloads = MESSAGES[name]()
    blocks = payloads[0]["blocks"]
    # The headline's end; the first entry (the section after the head's divider): its first
    # name in bold and, shown in full, the end of its line saying what to do.
    ending = shown(payloads[0]["text"][-20:])
    first = blocks[blocks.index(DIVIDER) + 1]["text"]["text"]
    name_needle = shown(re.findall(r"\*([^*\n]+?)\u200b?\*", first)[0])
    todo = [line for line in first.splitlines() if line.startswith(":bulb: ")]
    needles = [ending, name_needle, *(shown(line[-25:]) for line in todo[:1])]

    seen = browser.look(slack_preview.page(payloads), PHONE, lambda page: layout(page, needles))

    assert seen["width"] <= PHONE, "the page scrolls sideways"
    assert seen["outside"] == [], "something is cut or sticks out"
    # The headline, in the notification and atop the message, and below it the first entry.
    headline_bottom = max(box["bottom"] for box in seen["found"][ending])
    assert len(seen["found"][ending]) == 2 and headline_bottom <= SCREEN_HEIGHT
    assert any(
        headline_bottom < box["top"] and box["bottom"] <= SCREEN_HEIGHT
        for box in seen["found"][name_needle]
    ), "the first entry is not on the first screen"
    assert bool(todo) == (name in FULL), "the small messages show their entries in full"
    if todo:
        last = seen["found"][needles[2]][0]["bottom"]
        assert headline_bottom < last <= SCREEN_HEIGHT, "the first entry ends below the screen"


def test_hostile_text_shows_as_text_in_the_page(browser: Chromium) -> None:
    text = "&lt;b&gt;x&lt;/b&gt; <javascript:alert(1)|click>"
    payload = {
        "text": "<script>alert(1)</script>",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }

    def read(page: Page) -> tuple[int, int, str, str]:
        return (
            page.locator("script").count(),
            page.locator("a").count(),
            page.inner_text(".section"),
            page.inner_text(".notification"),
        )

    scripts, links, section, notification = browser.look(slack_preview.page([payload]), PHONE, read)

    assert scripts == 0 and links == 0
    assert "<b>x</b> click" in section
    assert "<script>alert(1)</script>" in notification
