"""The status page on the metrics port, over a real loopback socket (waitress, as `serve`
runs it): the grid and its filters, a user's page with its firing alerts, the token, hostile
names, and a database that does not exist yet. The page in a real browser, against a real
`serve`, is tests/test_statuspage_browser.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cbsalert.config import Config, load_config
from cbsalert.metrics import Metrics, MetricsServer
from cbsalert.state import StateStore
from cbsalert.statuspage import StatusPages
from tests.conftest import config_dict, write_config
from tests.grid_history import ZONE, days, write, yesterday
from tests.state_helpers import backup, check

TOKEN = "st4tus-T0ken-f0r-tests"
HOSTILE = '<img src=x onerror="alert(1)">'


def make_config(tmp_path: Path, **page: Any) -> Config:
    raw = config_dict("http://127.0.0.1:9", tmp_path, timezone=ZONE, metrics_port=0,
                      status_page={"enabled": True, **page},
                      watch=[{"login": "alice", "owner": "Acme"}, {"login": "bob", "owner": "Zed"},
                             {"login": HOSTILE, "owner": "Acme"}, {"login": "newbie"}])  # fmt: skip
    return load_config(write_config(tmp_path / "cbsalert.yaml", raw))


class Page:
    """A metrics server with the status page on a free loopback port."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pages = StatusPages(lambda: self.config)
        self.server = MetricsServer(Metrics(), "127.0.0.1", 0, lambda: True, pages=self.pages)
        self.server.start()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.server.url + path, timeout=10, **kwargs)

    def close(self) -> None:
        self.server.stop()
        self.pages.close()


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Page]:
    config = make_config(tmp_path)
    write(config.state, [
        *days("alice", "1", "ooooooooooooof", owner="Acme", name="Docs"),
        *days("alice", "2", "oooooooooooooo", owner="Acme", name="Mail"),
        *days("bob", "1", "oooooooooooooo", owner="Zed", name="Photos"),
        *days(HOSTILE, "1", "ooooooooooooow", owner="Acme", name="<script>x()</script>"),
    ])  # fmt: skip
    page = Page(config)
    yield page
    page.close()


def test_the_grid_lists_every_set_worst_first_with_links_and_refreshes_itself(
    filled: Page,
) -> None:
    for path in ("/", "/status"):
        answer = filled.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        html = answer.text
        assert html.index("Docs") < html.index("Mail")  # the failed set first
        assert '<meta http-equiv="refresh" content="300">' in html
        assert f"to {yesterday().isoformat()}" in html
        assert 'href="user?login=alice"' in html
        assert "1 watched user has no history for these days (newbie)" in html
    headers = filled.get("/").headers
    assert headers["cache-control"] == "no-store" and "script-src" not in headers[
        "content-security-policy"
    ] and "default-src 'none'" in headers["content-security-policy"]  # fmt: skip
    assert filled.get("/metrics").status_code == 200  # the port's own routes are untouched


def test_filters_narrow_to_an_owner_and_to_problems(filled: Page) -> None:
    zed = filled.get("/", params={"owner": "Zed"}).text
    assert "Photos" in zed and "Docs" not in zed
    assert '<option value="Zed" selected>' in zed
    problems = filled.get("/", params={"problems": "1"}).text
    assert "Docs" in problems and "Mail" not in problems and "Photos" not in problems
    assert 'name="problems" value="1" checked' in problems


def test_a_user_page_shows_its_sets_for_30_days_and_its_firing_alerts(filled: Page) -> None:
    store = StateStore(filled.config.state)
    try:
        check(store, 1, backup(1, login="alice", summary="Backup of 'Docs' failed: <b>disk</b>"))
    finally:
        store.close()
    html = filled.get("/user", params={"login": "alice"}).text
    assert (
        "alice on 127.0.0.1" in html and "Docs" in html and "Mail" in html and "Photos" not in html
    )
    assert html.count('class="c ') == 2 * 30 + 7  # 30 days x 2 sets, and the legend
    assert "Firing alerts" in html and "&lt;b&gt;disk&lt;/b&gt;" in html and "Critical" in html
    assert 'href="./"' in html
    bob = filled.get("/user", params={"login": "bob"}).text
    assert "None." in bob


def test_an_unknown_user_is_404_and_a_watched_one_without_history_is_shown(filled: Page) -> None:
    assert filled.get("/user", params={"login": "mallory"}).status_code == 404
    assert filled.get("/user").status_code == 404
    newbie = filled.get("/user", params={"login": "newbie"})
    assert newbie.status_code == 200 and "no history for these days (newbie)" in newbie.text


def test_hostile_names_are_shown_as_text(filled: Page) -> None:
    for html in (filled.get("/").text, filled.get("/user", params={"login": HOSTILE}).text):
        assert "<img" not in html and "<script>x" not in html
        assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "onerror" not in filled.get("/").text.split("user?login=")[1].split('"')[0]


def test_with_a_token_every_route_is_401_without_it_and_answers_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, token=TOKEN)
    write(config.state, days("alice", "1", "of", owner="Acme", name="Docs"))
    page = Page(config)
    caplog.set_level(logging.DEBUG)
    try:
        for path in ("/", "/status", "/user?login=alice"):
            for headers in ({}, {"Authorization": "Bearer wrong-token-of-the-same-size"},
                            {"Authorization": f"Basic {TOKEN}"}):  # fmt: skip
                denied = page.get(path, headers=headers)
                assert denied.status_code == 401 and "Docs" not in denied.text
                assert denied.headers["www-authenticate"].startswith("Bearer")
            assert page.get(path + ("&" if "?" in path else "?") + "token=nope").status_code == 401
            bearer = page.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert bearer.status_code == 200 and "Docs" in bearer.text
            assert TOKEN not in bearer.text  # a header's token is not copied into links
        in_url = page.get("/", params={"token": TOKEN}).text
        assert f'user?login=alice&amp;token={TOKEN}"' in in_url
        assert f'<input type="hidden" name="token" value="{TOKEN}">' in in_url
        assert f'href="./?token={TOKEN}"' in page.get(f"/user?login=alice&token={TOKEN}").text
        assert page.get("/metrics").status_code == 200  # scrapes need no token
    finally:
        page.close()
    # The server side's log (the test's own httpx client logs the URLs it asks for).
    logged = [
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    ]
    assert logged is not None and not any(TOKEN in line for line in logged)


def test_before_the_first_check_the_page_says_so_and_creates_no_database(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    page = Page(config)
    try:
        answer = page.get("/")
        assert answer.status_code == 200 and "No check has run yet" in answer.text
    finally:
        page.close()
    assert not Path(config.state.removeprefix("sqlite:///")).exists()


def test_a_disabled_page_is_not_served_and_other_methods_are_refused(tmp_path: Path) -> None:
    page = Page(make_config(tmp_path, enabled=False))
    try:
        assert page.get("/").status_code == 404
    finally:
        page.close()
    page = Page(make_config(tmp_path))
    try:
        assert httpx.post(page.server.url + "/", timeout=10).status_code == 405
    finally:
        page.close()
