"""The system's Chromium, as the browser tests and the screenshot script start it: Debian's
``chromium`` package (``.ci/run`` installs it), driven by Playwright for Python (a test
extra: its pip package brings the driver, and no browser is downloaded).

Headless, and without anything that would reach for the network (the machine's is closed)
or a sandbox (CI runs as root).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)  # fmt: skip
PHONE = (390, 844)  # an iPhone 14's screen in CSS pixels: what "on a phone" means here


def screenshot(
    html: str, path: Path, *, width: int = PHONE[0], height: int = PHONE[1],
    full_page: bool = False, scale: float = 2,
) -> None:  # fmt: skip
    """Write a PNG of ``html`` as a screen of ``width`` x ``height`` CSS pixels shows it
    (``scale`` device pixels per CSS pixel, as a phone's screen; ``full_page``: all of it,
    not only the first screen)."""
    from playwright.sync_api import sync_playwright  # a test extra, needed only here

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(FLAGS))
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height}, device_scale_factor=scale
            )
            page.set_content(html)
            page.screenshot(path=str(path), full_page=full_page)
        finally:
            browser.close()
