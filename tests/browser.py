"""The ``browser`` fixture: one headless Chromium per test session (per xdist worker), for
tests that judge a message as a person sees it (cbsalert.devtools.browser.Chromium), and
``layout``, which measures where a page's texts are and whether anything sticks out.

Without Chromium or Playwright those tests are skipped, saying why; ``.ci/run`` installs
Debian's ``chromium``. conftest.py imports ``browser``: every test module shares it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from cbsalert.devtools.browser import CHROMIUM, DESKTOP, PHONE, SCREEN_HEIGHT, Chromium

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["DESKTOP", "PHONE", "SCREEN_HEIGHT", "Chromium", "browser", "layout"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Chromium]:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extras)")
    with Chromium() as started:
        yield started


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
