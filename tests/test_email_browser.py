"""The demo's emails, laid out by a real browser at a phone's and a desktop's width (issue
17.11): no sideways scrolling, the summary and the first entry on the first screen, nothing
cut. The messages come from real runs (cbsalert.devtools.demo_messages)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.devtools import demo_messages
from cbsalert.notify.email import EmailConfig
from cbsalert.notify.testmsg import sample_context
from tests.browser import DESKTOP, PHONE, SCREEN_HEIGHT

if TYPE_CHECKING:
    from cbsalert.devtools.browser import Chromium

# What a person sees: how wide the page is, where the summary and the first entry end, and
# which elements have more content than their box shows (a cut name or line).
MEASURE = """() => {
  const bottom = (selector) => {
    const element = document.querySelector(selector);
    return element ? element.getBoundingClientRect().bottom + window.scrollY : null;
  };
  const cut = [...document.querySelectorAll("body *")]
    .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map((e) => `${e.tagName}.${e.className}: ${e.textContent.slice(0, 60)}`);
  return {
    viewport: window.innerWidth,
    width: document.documentElement.scrollWidth,
    summary: bottom(".summary"),
    first: bottom(".card, .line"),
    cards: document.querySelectorAll(".card").length,
    cut,
  };
}"""


def hostile_html() -> str:
    now = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("UTC"))
    settings = {"smtp_host": "127.0.0.1", "from": "a@example.com", "to": ["b@example.com"]}
    notifier = EmailConfig.model_validate(settings).create("mail")
    return str(notifier.render_html(sample_context(now, hostile=True)))


MESSAGES: dict[str, Callable[[], str]] = {
    "small digest": lambda: demo_messages.small().html(),
    "new, reminder and resolved": lambda: demo_messages.mixed().html(),
    "300 alerts": lambda: demo_messages.many(300).html(),
    "hostile samples": hostile_html,
}


@pytest.mark.parametrize("name", MESSAGES)
def test_the_email_reads_on_a_phone_and_a_desktop(browser: Chromium, name: str) -> None:
    html = MESSAGES[name]()

    for width in (PHONE, DESKTOP):
        seen: dict[str, Any] = browser.look(html, width, lambda page: page.evaluate(MEASURE))

        where = f"{name} at {width} px"
        assert seen["viewport"] == width
        assert seen["width"] <= width, f"{where}: scrolls sideways ({seen['width']} px wide)"
        assert seen["cards"] >= 1, where
        assert seen["summary"] is not None and seen["summary"] <= SCREEN_HEIGHT, where
        assert seen["first"] is not None and seen["first"] <= SCREEN_HEIGHT, (
            f"{where}: the first entry ends at {seen['first']} px, below the first screen"
        )
        assert seen["cut"] == [], f"{where}: content overflows its box"


def test_the_measure_sees_a_page_that_scrolls_sideways_and_a_cut_box(browser: Chromium) -> None:
    # The checks above can fail: a long unbreakable name in a box that does not wrap.
    html = (
        '<div class="summary">s</div><div class="card" style="width:300px;overflow:hidden;'
        f'white-space:nowrap">{"x" * 200}</div><div style="width:600px">wide</div>'
    )

    seen = browser.look(html, PHONE, lambda page: page.evaluate(MEASURE))

    assert seen["width"] == 600 + 8 and seen["cut"] == [f"DIV.card: {'x' * 60}"]
