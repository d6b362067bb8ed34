"""The status page in a real browser: headless Chromium (tests/browser.py) against a real
`cbsalert serve` process on the simulated CBS, with job history written by real checks
(two `check --date` runs, then the service's own --run-now check of yesterday)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.devtools.simulator import Simulator
from tests.browser import DESKTOP, PHONE, Chromium
from tests.test_serve import NEVER_SOON, Serve, make_config, put_config, world, yesterday

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow  # a service process and a browser
FINISHED = r"run 1 finished"


def jobs(set_id: str, *statuses: str) -> list[dict[str, Any]]:
    """A job of ``set_id`` on each day before today, the last status being yesterday's."""
    out = []
    for n, status in enumerate(reversed(statuses), start=1):
        out.append({"set": set_id, "start": f"D-{n} 22:00:00", "end": f"D-{n} 22:30:00",
                    "status": status})  # fmt: skip
    return out


OK, FAILED = "BS_STOP_SUCCESS", "BS_STOP_BY_SYSTEM_ERROR"


@pytest.fixture
def served(make_sim: Callable[..., Simulator], tmp_path: Path) -> Any:
    sim = make_sim(world(
        {"login": "alice",
         "backup_sets": [{"id": "1", "name": "Docs"}, {"id": "2", "name": "Mail"}],
         "jobs": jobs("1", OK, OK, FAILED) + jobs("2", OK, OK, OK)},
        {"login": "bob", "backup_sets": [{"id": "1", "name": "Photos <b>&</b>"}],
         "jobs": jobs("1", OK, OK, OK)},
    ))  # fmt: skip
    raw = make_config(
        sim.url, tmp_path, schedule=NEVER_SOON, metrics_port=0,
        watch=[{"login": "alice", "owner": "Acme"}, {"login": "bob", "owner": "Zed"}],
        status_page={"enabled": True, "refresh_s": 600},
    )  # fmt: skip
    path = put_config(tmp_path / "cbsalert.yaml", raw)
    last = date.fromisoformat(yesterday())
    for n in (3, 2):  # the days before yesterday, checked as a daily check would have
        done = CliRunner().invoke(app, ["check", "-c", str(path), "--date",
                                        str(last - timedelta(days=n - 1))])  # fmt: skip
        assert done.exit_code == 0, done.stdout + done.stderr
    with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
        svc.wait_for(FINISHED)
        svc.wait_for(r"status page on http://")
        url = svc.log.split("status page on ")[1].split()[0]
        yield url, last
        assert svc.stop() == 0


def test_the_status_page_in_chromium_shows_the_checked_days_filters_and_a_user_page(
    served: tuple[str, date], browser: Chromium
) -> None:
    url, last = served
    three = [last - timedelta(days=n) for n in (2, 1, 0)]

    def look(page: Page) -> dict[str, Any]:
        seen: dict[str, Any] = {"rows": page.locator(".row:not(.head)").count()}
        seen["cells"] = [page.locator(f'[title="{d}: ok"]').count() for d in three[:2]]
        seen["failed"] = page.locator(f'[title="{three[2]}: failed"]').count()
        seen["first"] = page.locator(".row:not(.head) .who").first.inner_text()
        seen["bob"] = page.locator(".who", has_text="Photos <b>&</b>").count()
        page.select_option("select[name=owner]", "Zed")
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        seen["zed"] = page.locator(".row:not(.head) .who").all_inner_texts()
        seen["zed_url"] = page.url
        page.goto(url)
        page.click("text=alice")
        page.wait_for_load_state("load")
        seen["user"] = page.inner_text("body")
        return seen

    seen, errors = browser.visit(url, DESKTOP, look)
    assert errors == []
    assert seen["rows"] == 3  # alice's two sets and bob's
    assert seen["cells"] == [3, 3] and seen["failed"] == 1
    assert seen["first"].startswith("alice") and "Docs" in seen["first"]  # worst first
    assert seen["bob"] == 1  # the CBS's markup shown as text
    assert len(seen["zed"]) == 1 and "bob" in seen["zed"][0] and "owner=Zed" in seen["zed_url"]
    assert "Firing alerts" in seen["user"] and "Docs" in seen["user"]
    assert "alice on " in seen["user"] and "Photos" not in seen["user"]


@pytest.mark.parametrize("path", ["/", "/user?login=alice"])
def test_the_status_page_reads_on_a_phone_without_sideways_scrolling(
    served: tuple[str, date], browser: Chromium, path: str
) -> None:
    url, _ = served

    def widths(page: Page) -> tuple[int, int]:
        return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")

    (document, viewport), errors = browser.visit(url.rstrip("/") + path, PHONE, widths)
    assert errors == [] and viewport == PHONE
    assert document <= viewport
