"""A CBS that cannot be used is said so, with the URL called and what to fix — fast.

The operator's mistakes in ``cbs.url`` (the API path appended, https to a plain-HTTP server,
a web page instead of the CBS) make every call fail the same way. That is the CBS being
unusable, not every user having a problem: exit 3, the meta-alert, and a message naming
the URL that was called and the likely cause. A refused connection says so within one
quick retry, not after every retry of every user.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cbsalert.cbs import CbsClient
from cbsalert.cli import app
from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import EXIT_CBS, EXIT_PARTIAL, CbsConnectError, CbsError, CbsNotApiError
from cbsalert.fetch import fetch_day
from cbsalert.pipeline import RunResult, run_once
from tests.cli_invoke import invoke
from tests.conftest import SYS_PASSWORD
from tests.delivered import slack_texts
from tests.fault_world import ALICE, DAY2, NOW2, WORLD, check_args, fault_config, many_users, save
from tests.hostile import HostileCbs, html, status

FIX_API_PATH = "`cbs.url` should be the server's base URL, without /obs/api/json"


def config(url: str, tmp_path: Path, slack: SlackSink | None = None, **cbs: Any) -> Config:
    cbs = {"timeout_s": 2, "retries": 1, "backoff_s": 0.01, **cbs}
    raw = fault_config(url, tmp_path, slack_url=slack.url if slack else None, cbs=cbs)
    return Config.model_validate(raw)


def run(config: Config) -> RunResult:
    return asyncio.run(run_once(config, day=DAY2, now=NOW2))


def one_call(url: str, **options: Any) -> Any:
    settings: dict[str, Any] = {"timeout_s": 2.0, "retries": 0, "backoff_s": 0.01, **options}

    async def go() -> Any:
        async with CbsClient(url, "system", SecretStr(SYS_PASSWORD), **settings) as client:
            return await client.list_backup_jobs("obm", DAY2)

    return asyncio.run(go())


# -- the message names the URL and the fix ---------------------------------------------------


def test_the_api_path_in_cbs_url_names_the_url_called_and_the_fix(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(WORLD)
    with pytest.raises(CbsNotApiError) as caught:
        one_call(sim.url + "/obs/api/json/")
    called = f"{sim.url}/obs/api/json/obs/api/json/ListBackupJobMode.do"
    assert caught.value.message == f"answered HTTP 404 for {called}: {FIX_API_PATH}"


def test_a_404_for_a_bare_host_asks_whether_it_is_the_cbs(
    hostile: Callable[..., HostileCbs],
) -> None:
    server = hostile(WORLD)
    server.script(status(404, "<h1>Not Found</h1>"))
    with pytest.raises(CbsNotApiError, match=r"answered HTTP 404 for .*: is `cbs.url` the Ahsay"):
        one_call(server.url)


def test_an_html_page_instead_of_json_says_so(hostile: Callable[..., HostileCbs]) -> None:
    server = hostile(WORLD)
    server.script(html(200, "Sign in to the portal"))
    with pytest.raises(CbsNotApiError) as caught:
        one_call(server.url)
    message = caught.value.message
    assert message.startswith(f"answered an HTML page (HTTP 200) for {server.url}/obs/api/json/")
    assert "not the API's JSON" in message and "Sign in to the portal" in message


def test_a_redirect_names_where_it_leads(hostile: Callable[..., HostileCbs]) -> None:
    server = hostile(WORLD)
    target = "https://cbs.example.com:8443/obs/api/json/ListBackupJobMode.do"
    server.script(replace(status(301), headers={"Location": target}))
    with pytest.raises(CbsNotApiError) as caught:
        one_call(server.url)
    assert caught.value.message.endswith(
        f"answered HTTP 301 for {server.url}/obs/api/json/ListBackupJobMode.do: it redirects"
        f" to {target}: `cbs.url` should be https://cbs.example.com:8443"
    )


def test_a_redirect_to_a_url_that_is_not_one_is_a_cbs_error_not_a_crash(
    hostile: Callable[..., HostileCbs],
) -> None:
    server = hostile(WORLD)
    server.script(replace(status(302), headers={"Location": "http://[::1"}))
    with pytest.raises(CbsError, match="location"):
        one_call(server.url)


def test_https_to_a_plain_http_server_asks_whether_it_speaks_plain_http(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(WORLD)
    https = sim.url.replace("http://", "https://")
    with pytest.raises(CbsConnectError) as caught:
        one_call(https, verify_tls=False)
    message = caught.value.message
    assert message.startswith(f"cannot connect to {https}: TLS handshake failed")
    assert "does the server speak plain HTTP? (then `cbs.url` starts with http://)" in message


def test_a_password_in_cbs_url_never_shows_in_the_message(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(WORLD)
    secret = "Pw-in-the-URL-93"
    with pytest.raises(CbsNotApiError) as caught:
        one_call(sim.url.replace("http://", f"http://admin:{secret}@") + "/obs/api/json")
    assert secret not in str(caught.value) and "admin" not in str(caught.value)
    assert f"for {sim.url}/obs/api/json/obs/api/json/ListBackupJobMode.do" in str(caught.value)


# -- every user failing the same way is the CBS being unusable ---------------------------------


def test_a_wrong_cbs_url_is_exit_3_with_the_meta_alert_and_the_fix(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    """The operator's mistake, run as the operator runs it."""
    sim = make_sim(WORLD)
    raw = fault_config(sim.url + "/obs/api/json", tmp_path, slack_url=slack.url)
    done = invoke(*check_args(save(tmp_path, raw), DAY2, "--format", "json"))

    assert done.exit_code == EXIT_CBS, done.output
    called = f"{sim.url}/obs/api/json/obs/api/json/ListBackupJobMode.do"
    fatal = json.loads(done.stdout)["fatal"]
    assert fatal == f"the CBS cannot be used: ListBackupJobMode: answered HTTP 404 for {called}: " \
        f"{FIX_API_PATH}"  # fmt: skip
    [message] = slack_texts(slack.messages)
    # (Slack's escaping turns the backticks around cbs.url into look-alikes.)
    # Something answers at cbs.url, so the server answers errors: it is not unreachable.
    assert "CBS 127.0.0.1 answers errors: ListBackupJobMode: answered HTTP 404" in message
    assert called in message
    assert "should be the server" in message and "without /obs/api/json" in message
    assert "Traceback" not in done.stderr


def test_html_for_every_user_is_the_cbs_unusable(
    hostile: Callable[..., HostileCbs], slack: SlackSink, tmp_path: Path
) -> None:
    server = hostile(WORLD)
    server.script(html(200))
    result = run(config(server.url, tmp_path, slack))
    assert result.exit_code == EXIT_CBS
    assert result.fatal is not None and "answered an HTML page (HTTP 200)" in result.fatal
    assert result.errors == []
    [message] = slack_texts(slack.messages)
    assert "CBS 127.0.0.1 answers errors: ListBackupSets: answered an HTML page" in message


def test_https_to_a_plain_http_cbs_is_the_cbs_unusable(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(WORLD)
    result = run(config(sim.url.replace("http://", "https://"), tmp_path, verify_tls=False))
    assert result.exit_code == EXIT_CBS
    assert result.fatal is not None and "does the server speak plain HTTP?" in result.fatal


def test_every_user_failing_one_operation_the_same_way_is_the_cbs_unusable(
    hostile: Callable[..., HostileCbs], tmp_path: Path
) -> None:
    """A proxy that lets some paths through and answers 404 for another: the CBS answered
    other calls, but no user can be checked, all for the same reason."""
    server = hostile(WORLD)
    server.script(status(404, "<h1>Not Found</h1>"), operation="ListRestoreJobStatus")
    result = run(config(server.url, tmp_path))
    assert result.exit_code == EXIT_CBS
    assert result.fatal is not None
    assert "ListRestoreJobStatus: answered HTTP 404 for" in result.fatal


def test_one_users_404_is_only_that_users_check_error(
    hostile: Callable[..., HostileCbs], tmp_path: Path
) -> None:
    server = hostile(WORLD)
    server.script(status(404, "<h1>Not Found</h1>"), operation="ListBackupJobMode", login=ALICE)
    result = run(config(server.url, tmp_path))
    assert result.exit_code == EXIT_PARTIAL
    assert [(e.login, e.operation) for e in result.errors] == [(ALICE, "ListBackupJobMode")]
    assert result.users_checked == 2


def test_a_password_in_cbs_url_never_reaches_a_message_or_a_log(
    make_sim: Callable[..., Simulator],
    slack: SlackSink,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = make_sim(WORLD)
    secret = "Pw-in-the-URL-93"
    url = sim.url.replace("http://", f"http://admin:{secret}@") + "/obs/api/json"
    result = run(config(url, tmp_path, slack, verify_tls=False))  # which logs a warning
    assert result.exit_code == EXIT_CBS
    texts = [result.fatal or "", *slack_texts(slack.messages), caplog.text]
    assert [t for t in texts if secret in t] == []


def test_vv_logs_each_requests_operation_url_and_status_never_its_body(
    make_sim: Callable[..., Simulator], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = make_sim(WORLD)
    path = save(tmp_path, fault_config(sim.url, tmp_path))
    done = CliRunner().invoke(app, ["-vv", *check_args(path, DAY2, "--dry-run")])
    assert done.exit_code == 0, done.output
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("cbsalert.cbs")]
    url = f"{sim.url}/obs/api/json/ListBackupJobMode.do"
    assert f"ListBackupJobMode: POST {url} -> HTTP 200" in lines
    assert len([line for line in lines if "-> HTTP" in line]) == sim.count()
    assert SYS_PASSWORD not in caplog.text and "SysPwd" not in caplog.text


# -- a refused connection fails fast -----------------------------------------------------------


def test_a_refused_connection_is_retried_once_whatever_retries_says() -> None:
    waits: list[float] = []

    async def no_wait(delay: float) -> None:
        waits.append(delay)

    url = f"http://127.0.0.1:{SmtpSink.closed_port()}"
    with pytest.raises(CbsConnectError) as caught:
        one_call(url, retries=3, sleep=no_wait)
    assert len(waits) == 1
    assert caught.value.message == (
        f"cannot connect to {url}: connection refused (is the CBS running, and is the port"
        " in `cbs.url` right?) (gave up after 2 attempts)"
    )


def test_callers_waiting_for_a_failed_probe_do_not_then_probe_one_after_another() -> None:
    """ListBackupSets is asked once before everyone else while a server may lack it. When
    that first call fails without an answer, the callers that waited for it go on together:
    one after another, N users cost N rounds of retries before anyone hears a word."""
    sleeping = peak = 0

    async def short_wait(delay: float) -> None:
        nonlocal sleeping, peak
        sleeping += 1
        peak = max(peak, sleeping)
        await asyncio.sleep(0.05)
        sleeping -= 1

    async def three_users() -> None:
        url = f"http://127.0.0.1:{SmtpSink.closed_port()}"
        async with CbsClient(url, "system", SecretStr("pw"), sleep=short_wait) as client:
            await asyncio.gather(
                *(client.list_backup_sets(u) for u in ("a", "b", "c")), return_exceptions=True
            )

    asyncio.run(three_users())
    assert peak == 2


def test_a_refused_connection_ends_the_fetch_at_the_first_user_that_meets_it(
    tmp_path: Path,
) -> None:
    done: list[int] = []
    url = f"http://127.0.0.1:{SmtpSink.closed_port()}"
    raw = fault_config(url, tmp_path, logins=[u["login"] for u in many_users(20)["users"]])
    cfg = Config.model_validate(raw)

    async def fetch() -> None:
        async with CbsClient(url, "system", SecretStr("pw"), backoff_s=0.01) as client:
            await fetch_day(client, cfg, DAY2, progress=lambda n, total: done.append(n))

    with pytest.raises(CbsConnectError, match="connection refused"):
        asyncio.run(fetch())
    assert done == []  # not one user counted as "could not be checked" first
