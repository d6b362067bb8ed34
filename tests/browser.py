"""A real browser for the tests: Debian's Chromium, headless, driven by Playwright.

Messages are judged as a person sees them: laid out by a browser at a phone's and a
desktop's width. One browser per test session (per xdist worker), a fresh page per look.
Playwright's pip package brings its driver; the browser is the system's (``.ci/run``
installs Debian's ``chromium``), never a download. Without it the tests are skipped, saying
why. Import the ``browser`` fixture into a test module to use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CBSALERT_TEST_CHROMIUM", "/usr/bin/chromium"))
# The machine has no network, and the browser must not look for one.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = 390  # an iPhone 12-15's CSS width
DESKTOP = 1200
SCREEN_HEIGHT = 844  # the same phone's height: what is seen without scrolling


def launch() -> Iterator[Browser]:
    """The browser, closed when the iterator is."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs playwright (pip: the test extras)")
    yield from launch()


@contextmanager
def opened(browser: Browser, html: str, width: int) -> Iterator[Page]:
    """A page showing ``html`` in a window ``width`` CSS pixels wide and a phone's screen
    high; nothing outside the page is fetched (a message must stand alone)."""
    page = browser.new_page(viewport={"width": width, "height": SCREEN_HEIGHT})
    try:
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load")
        yield page
    finally:
        page.close()
