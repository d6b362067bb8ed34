"""The README's pictures of what a person gets, made from the demo's real messages.

    .venv/bin/python scripts/screenshots.py                    # all of them, into docs/
    .venv/bin/python scripts/screenshots.py email-phone.png    # one
    .venv/bin/python scripts/screenshots.py --out /tmp/shots   # elsewhere

Each picture is one function ``(browser, folder) -> path`` in ``SHOTS``. The messages come
from real runs over the simulated CBS (cbsalert.devtools.demo_messages), so the pictures
stay true when the templates change: run this again and commit the PNGs. Needs Chromium and
the test extras (Playwright).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cbsalert.devtools import demo_messages, slack_preview
from cbsalert.devtools.browser import DESKTOP, PHONE, SCREEN_HEIGHT, Chromium

if TYPE_CHECKING:
    from playwright.sync_api import Page

DOCS = Path(__file__).resolve().parent.parent / "docs"
DESKTOP_HEIGHT = 900
SLACK_SCALE = 1.5  # sharper text: the Slack picture is the whole message, read zoomed in


def email_phone(browser: Chromium, folder: Path) -> Path:
    """The demo's email on a phone: the first screen, as seen at 7 am."""
    path = folder / "email-phone.png"
    browser.look(demo_messages.small().html(), PHONE, lambda page: page.screenshot(path=path))
    return path


def email_desktop(browser: Chromium, folder: Path) -> Path:
    """The morning after: one new failure, a reminder, one fixed; on a desktop."""
    path = folder / "email-desktop.png"

    def shoot(page: Page) -> None:  # the whole message, up to a screen and a bit
        height = min(page.evaluate("document.documentElement.scrollHeight"), DESKTOP_HEIGHT)
        page.set_viewport_size({"width": DESKTOP, "height": max(height, SCREEN_HEIGHT // 2)})
        page.screenshot(path=path)

    browser.look(demo_messages.mixed().html(), DESKTOP, shoot)
    return path


def slack_phone(browser: Chromium, folder: Path) -> Path:
    """The demo's Slack message on a phone: its notification on the locked screen, then
    the whole message in the channel (``slack_preview``)."""
    path = folder / "slack-phone.png"
    html = slack_preview.page(demo_messages.small().slack)
    browser.look(
        html, PHONE, lambda page: page.screenshot(path=path, full_page=True), scale=SLACK_SCALE
    )
    return path


def status_page(browser: Chromium, folder: Path) -> Path:
    """serve's status page after two weeks of the demo's checks, on a desktop."""
    path = folder / "status-page.png"

    def shoot(page: Page) -> None:
        height = min(page.evaluate("document.documentElement.scrollHeight"), DESKTOP_HEIGHT)
        page.set_viewport_size({"width": 1000, "height": max(height, SCREEN_HEIGHT // 2)})
        page.screenshot(path=path)

    browser.look(demo_messages.status_page(), 1000, shoot)
    return path


SHOTS: dict[str, Callable[[Chromium, Path], Path]] = {
    "email-phone.png": email_phone,
    "email-desktop.png": email_desktop,
    "slack-phone.png": slack_phone,
    "status-page.png": status_page,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(SHOTS)}")
    parser.add_argument("--out", type=Path, default=DOCS, help="the folder (default: docs/)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SHOTS))
    if unknown:
        parser.error(f"unknown picture(s): {', '.join(unknown)} (known: {', '.join(SHOTS)})")
    args.out.mkdir(parents=True, exist_ok=True)
    with Chromium() as browser:
        for name in args.names or list(SHOTS):
            print(SHOTS[name](browser, args.out))


if __name__ == "__main__":
    main()
