"""A headless browser to look at messages as a person sees them: Debian's Chromium, driven
by Playwright (a test extra: its pip package brings the driver, never a browser download).

The browser tests (tests/browser.py) and the README's screenshots (scripts/screenshots.py)
start it the same way, from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CBSALERT_CHROMIUM", "/usr/bin/chromium"))
# Headless, and never looking for a network (the machines running the tests have none).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
PHONE = 390  # CSS pixels: an iPhone 12 to 15
DESKTOP = 1200
SCREEN_HEIGHT = 844  # the same phone: what is seen without scrolling


@contextmanager
def launch() -> Iterator[Browser]:
    """The system's Chromium, closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def opened(browser: Browser, html: str, width: int) -> Iterator[Page]:
    """A page showing ``html`` in a window ``width`` CSS pixels wide and a phone's screen
    high. Nothing outside the page is fetched: a message must stand on its own."""
    page = browser.new_page(viewport={"width": width, "height": SCREEN_HEIGHT})
    try:
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load")
        yield page
    finally:
        page.close()
