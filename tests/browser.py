"""The ``browser`` fixture: one headless Chromium per test session (per xdist worker), for
tests that judge a message as a person sees it (cbsalert.devtools.browser.Chromium).

Without Chromium or Playwright those tests are skipped, saying why; ``.ci/run`` installs
Debian's ``chromium``. conftest.py imports ``browser``: every test module shares it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cbsalert.devtools.browser import CHROMIUM, DESKTOP, PHONE, SCREEN_HEIGHT, Chromium

__all__ = ["DESKTOP", "PHONE", "SCREEN_HEIGHT", "Chromium", "browser"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Chromium]:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extras)")
    with Chromium() as started:
        yield started
