"""The README's pictures are made by scripts/screenshots.py from the demo's real messages,
and the README shows them (issue 17.12)."""

from __future__ import annotations

import runpy
import struct
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

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


def test_the_slack_screenshot_is_the_demos_whole_message_on_a_phone(
    browser: Chromium, tmp_path: Path
) -> None:
    path = SCRIPT["slack_phone"](browser, tmp_path)

    assert path == tmp_path / "slack-phone.png"
    width, height = png_size(path)
    scale = SCRIPT["SLACK_SCALE"]
    assert width == PHONE * scale and height > SCREEN_HEIGHT * scale  # all of it, sharp


@pytest.mark.slow  # a process of its own, and a browser of its own
def test_the_script_writes_every_picture_where_it_is_told_as_people_run_it(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SCRIPT["SHOTS"])
    assert done.stdout.split() == [str(tmp_path / name) for name in SCRIPT["SHOTS"]]


def test_the_script_names_the_pictures_it_knows_when_asked_for_another(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        SCRIPT["main"](["slack-desktop.png"])

    assert ended.value.code == 2
    assert (
        "unknown picture(s): slack-desktop.png (known: email-phone.png" in capsys.readouterr().err
    )


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
