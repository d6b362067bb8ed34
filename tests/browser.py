"""A real browser for the tests that look at a message as a person would: the system's
Chromium, started as ``cbsalert.devtools.browser`` says.

Its fixtures are everyone's (``tests/conftest.py`` loads this module as a plugin): the
module's ``browser``, started on first use, and ``page_at``: ``page_at(390)`` is a page 390
CSS pixels wide and a phone's 844 tall. ``layout(page, needles)`` measures what the tests
check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from cbsalert.devtools.browser import CHROMIUM, FLAGS, PHONE

PHONE_WIDTH, PHONE_HEIGHT = PHONE


# Per module, not per session: Playwright's synchronous API runs an event loop in this
# thread while it is started, and every later test of the worker that calls asyncio.run
# (run_once, the CBS client) would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(FLAGS))
        yield launched
        launched.close()


@pytest.fixture
def page_at(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``page_at(width, height=844)``: a new page of that viewport, closed after the test."""
    pages: list[Page] = []

    def make(width: int, height: int = PHONE_HEIGHT) -> Page:
        page = browser.new_page(viewport={"width": width, "height": height})
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.close()


_LAYOUT = """(needles) => {
  const root = document.documentElement;
  const outside = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && (box.left < -0.5 || box.right > root.clientWidth + 0.5)) {
      outside.push(el.tagName + ' ' + (el.textContent || '').slice(0, 60));
    }
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
      outside.push('clipped: ' + el.tagName + ' ' + (el.textContent || '').slice(0, 60));
    }
  }
  const found = {};
  for (const needle of needles) {
    found[needle] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      let at = node.textContent.indexOf(needle);
      while (at >= 0) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + needle.length);
        const box = range.getBoundingClientRect();
        found[needle].push({top: box.top, bottom: box.bottom});
        at = node.textContent.indexOf(needle, at + 1);
      }
    }
  }
  return {width: root.scrollWidth, viewport: root.clientWidth, outside, found};
}"""


def layout(page: Page, needles: list[str]) -> dict[str, Any]:
    """The document's width, the elements outside the viewport or clipped, and where on the
    page (top and bottom, from the top of the document) each of ``needles`` is, in document
    order (a needle must lie within one text node: one line of one element)."""
    page.evaluate("window.scrollTo(0, 0)")
    result: dict[str, Any] = page.evaluate(_LAYOUT, needles)
    return result
