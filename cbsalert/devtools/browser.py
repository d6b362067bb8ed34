"""A headless browser to look at messages as a person sees them: Debian's Chromium, driven
by Playwright (a test extra: its pip package brings the driver, never a browser download).

The browser tests (tests/browser.py) and the README's screenshots (scripts/screenshots.py)
start it the same way, from here, for the emails and for Slack's messages (as a phone shows
them: ``cbsalert.devtools.slack_preview``). It runs in a thread of its own: Playwright's
sync API keeps an event loop running in the thread that starts it, and ``asyncio.run`` then
refuses to run there, so a test session that kept a browser open in its main thread broke
every later test that runs the pipeline. All work on pages is done in the browser's thread
(``Chromium.look``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

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

T = TypeVar("T")


class Chromium:
    """The system's Chromium, started at once and kept until ``close`` (or the end of a
    ``with`` block)."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Playwright | None = None
        self._browser: Browser = self._thread.submit(self._start).result()

    def _start(self) -> Browser:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        return self._playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(FLAGS))

    def look(self, html: str, width: int, see: Callable[[Page], T], *, scale: float = 1) -> T:
        """``see(page)`` for a page showing ``html`` in a window ``width`` CSS pixels wide
        and a phone's screen high (``scale`` device pixels to a CSS pixel: a picture's
        sharpness). Nothing outside the page is fetched: a message must stand on its own."""
        return self._thread.submit(self._look, html, width, see, scale).result()

    def _look(self, html: str, width: int, see: Callable[[Page], T], scale: float) -> T:
        page = self._browser.new_page(
            viewport={"width": width, "height": SCREEN_HEIGHT}, device_scale_factor=scale
        )
        try:
            page.route("**/*", lambda route: route.abort())
            page.set_content(html, wait_until="load")
            return see(page)
        finally:
            page.close()

    def visit(self, url: str, width: int, see: Callable[[Page], T]) -> tuple[T, list[str]]:
        """``see(page)`` for the page at ``url`` (a loopback server's: a request to any
        other origin is refused), and what the page logged as errors on the console or
        threw, from loading it to the end of ``see``."""
        return self._thread.submit(self._visit, url, width, see).result()

    def _visit(self, url: str, width: int, see: Callable[[Page], T]) -> tuple[T, list[str]]:
        from urllib.parse import urlsplit

        origin = urlsplit(url)._replace(path="", query="", fragment="").geturl()
        page = self._browser.new_page(viewport={"width": width, "height": SCREEN_HEIGHT})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(origin + "/")
                    else route.abort()
                ),
            )
            page.goto(url, wait_until="load")
            return see(page), errors
        finally:
            page.close()

    def close(self) -> None:
        self._thread.submit(self._stop).result()
        self._thread.shutdown()

    def _stop(self) -> None:
        self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
