"""The README's pictures are made by scripts/screenshots.py from the demo's real messages,
and the README shows them (issue 17.12)."""

from __future__ import annotations

import runpy
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser import PHONE, SCREEN_HEIGHT

if TYPE_CHECKING:
    from cbsalert.devtools.browser import Chromium

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = runpy.run_path(str(ROOT / "scripts" / "screenshots.py"))  # not run: not __main__


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_phone_screenshot_is_the_first_screen_of_the_demos_email(
    browser: Chromium, tmp_path: Path
) -> None:
    path = SCRIPT["email_phone"](browser, tmp_path)

    assert path == tmp_path / "email-phone.png"
    assert png_size(path) == (PHONE, SCREEN_HEIGHT)


def test_the_readme_shows_every_screenshot_the_script_makes_and_they_are_committed() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What a person gets", 1)[1].split("\n## ", 1)[0]
    for name in SCRIPT["SHOTS"]:
        assert f"](docs/{name})" in section, name
        assert (ROOT / "docs" / name).is_file(), name
    assert png_size(ROOT / "docs" / "email-phone.png")[0] == PHONE


def test_the_status_page_screenshot_shows_two_weeks_of_the_demo_s_checks(
    browser: Chromium, tmp_path: Path
) -> None:
    path = SCRIPT["status_page"](browser, tmp_path)

    assert path == tmp_path / "status-page.png"
    width, height = png_size(path)
    assert width == 1000 and height >= SCREEN_HEIGHT // 2
