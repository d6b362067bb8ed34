"""Slack and email faults during a real check: a failed delivery is recorded (transient or
permanent, as the provider's answer says), never blocks the other notifier, and a
transient one is delivered by the next run.

Each test checks DAY1 (alice and bob failed: one digest per notifier) with one notifier
broken, then runs again (a re-run of DAY1: nothing new to say, so whatever arrives then is
the retry of what was owed). Permanent failures are not retried (they cannot succeed
until someone changes the config) and stay visible in ``cbsalert alerts``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackFault, SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import EXIT_PARTIAL
from cbsalert.pipeline import RunResult, run_once
from cbsalert.state import open_store
from tests.delivered import assert_delivered, logins_in, mail_texts, slack_texts
from tests.fault_world import (
    ALICE,
    BOB,
    DAY1,
    DAY2,
    NOW1,
    NOW2,
    WORLD,
    check_args,
    fault_config,
    many_users,
    save,
)
from tests.sqlite_file import query

FAILED_ALERTS = [ALICE, BOB]


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(WORLD)


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    with SlackSink(retry_after=61, hang_s=3) as sink:
        yield sink


def make_config(
    sim: Simulator, tmp_path: Path, slack: SlackSink, smtp_port: int, **mail: Any
) -> Config:
    raw = fault_config(sim.url, tmp_path, slack_url=slack.url, smtp_port=smtp_port)
    raw["notifiers"]["mail"].update(mail)
    return Config.model_validate(raw)


def run(config: Config, *, hours_later: int = 0) -> RunResult:
    return asyncio.run(run_once(config, day=DAY1, now=NOW1 + timedelta(hours=hours_later)))


def stored(tmp_path: Path) -> dict[str, tuple[str, bool, int, str | None]]:
    """notifier -> (status, permanent, attempts, last_error) of its one delivery."""
    sql = "SELECT notifier, status, permanent, attempts, last_error FROM deliveries"
    rows = query(tmp_path / "state.db", sql)
    return {row[0]: (row[1], bool(row[2]), row[3], row[4]) for row in rows}


def failed_deliveries_shown(tmp_path: Path) -> dict[str, tuple[int, int]]:
    """login -> (failed deliveries, permanent ones), as ``cbsalert alerts`` shows them."""
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", auto_upgrade=False)
    try:
        return {
            a["login"]: (a["failed_deliveries"], a["permanent_failures"])
            for a in store.list_alerts()
        }
    finally:
        store.close()


# (fault, how many requests it answers, permanent?, what the stored error says)
SLACK_FAULTS: dict[str, tuple[SlackFault, int, bool, str]] = {
    "429 with a long Retry-After": ("ratelimit", 1, False, "HTTP 429"),
    "500 through every retry": ("server_error", 3, False, "HTTP 500"),
    "timeout": ("hang", 1, False, "timed out"),
    "404 no_service": ("no_service", 1, True, "HTTP 404: no_service"),
    "invalid_auth": ("invalid_auth", 1, True, "HTTP 403: invalid_token"),
}


@pytest.mark.parametrize("case", list(SLACK_FAULTS))
def test_a_slack_fault_is_recorded_never_blocks_email_and_transient_ones_are_retried(
    case: str, sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    fault, count, permanent, error = SLACK_FAULTS[case]
    config = make_config(sim, tmp_path, slack, smtp.port)
    slack.fail_next(fault, count)

    first = run(config)

    assert (first.deliveries_sent, first.deliveries_failed) == (1, 1)
    assert_delivered(mail_texts(smtp.messages), FAILED_ALERTS)  # email went out regardless
    status, is_permanent, attempts, last_error = stored(tmp_path)["slack"]
    assert (status, is_permanent, attempts) == ("failed", permanent, 1)
    assert last_error is not None and error in last_error, last_error
    assert "W3bh00k" not in last_error  # the webhook path is a secret
    assert failed_deliveries_shown(tmp_path) == {
        ALICE: (1, int(permanent)),
        BOB: (1, int(permanent)),
    }

    second = run(config, hours_later=1)

    if permanent:
        assert (second.deliveries_sent, second.deliveries_failed) == (0, 0)
        assert [r for r in slack.requests if r.ok] == []
        assert stored(tmp_path)["slack"][:3] == ("failed", True, 1)
    else:
        assert (second.deliveries_sent, second.deliveries_failed) == (1, 0)
        # A timed-out post may have reached Slack after all: at most one duplicate.
        assert_delivered(slack_texts(slack.messages), FAILED_ALERTS, duplicates=1)
        assert stored(tmp_path)["slack"][:3] == ("sent", False, 2)
        assert failed_deliveries_shown(tmp_path) == {ALICE: (0, 0), BOB: (0, 0)}
    assert len(smtp.messages) == 1  # email was not sent again


def test_an_unreachable_mail_server_is_retried_once_it_is_back(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    down = make_config(sim, tmp_path, slack, SmtpSink.closed_port())

    first = run(down)

    assert (first.deliveries_sent, first.deliveries_failed) == (1, 1)
    assert_delivered(slack_texts(slack.messages), FAILED_ALERTS)
    status, permanent, _, error = stored(tmp_path)["mail"]
    assert (status, permanent) == ("failed", False)
    assert error is not None and "Connection refused" in error
    back = make_config(sim, tmp_path, slack, smtp.port)
    second = run(back, hours_later=1)
    assert (second.deliveries_sent, second.deliveries_failed) == (1, 0)
    assert_delivered(mail_texts(smtp.messages), FAILED_ALERTS)
    assert len(slack.messages) == 1


def test_a_refused_smtp_login_is_permanent_and_never_blocks_slack(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    with SmtpSink(auth=("cbsalert", "the-right-one")) as smtp:
        config = make_config(sim, tmp_path, slack, smtp.port, username="cbsalert",
                             password="Smtp-Wr0ng-S3cret")  # fmt: skip
        first = run(config)
        second = run(config, hours_later=1)
        assert smtp.messages == []
    assert (first.deliveries_sent, first.deliveries_failed) == (1, 1)
    assert (second.deliveries_sent, second.deliveries_failed) == (0, 0)
    assert_delivered(slack_texts(slack.messages), FAILED_ALERTS)
    status, permanent, attempts, error = stored(tmp_path)["mail"]
    assert (status, permanent, attempts) == ("failed", True, 1)
    assert error is not None and "login as cbsalert refused: 535" in error
    assert "Smtp-Wr0ng-S3cret" not in error


def test_one_refused_recipient_does_not_stop_the_mail_to_the_others(
    sim: Simulator, slack: SlackSink, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with SmtpSink(refuse=["gone@example.com"]) as smtp:
        config = make_config(sim, tmp_path, slack, smtp.port,
                             to=["ops@example.com", "gone@example.com"])  # fmt: skip
        result = run(config)
        [mail] = smtp.received
    assert (result.deliveries_sent, result.deliveries_failed) == (2, 0)
    assert mail.rcpt_tos == ["ops@example.com"]
    assert "gone@example.com (550)" in caplog.text
    assert stored(tmp_path)["mail"][:2] == ("sent", False)


def test_every_recipient_refused_is_a_permanent_failure(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    with SmtpSink(refuse=["gone@example.com"]) as smtp:
        config = make_config(sim, tmp_path, slack, smtp.port, to=["gone@example.com"])
        result = run(config)
        assert smtp.messages == []
    assert (result.deliveries_sent, result.deliveries_failed) == (1, 1)
    status, permanent, _, error = stored(tmp_path)["mail"]
    assert (status, permanent) == ("failed", True)
    assert error is not None and "every recipient was refused: gone@example.com: 550" in error


def test_a_failed_delivery_makes_the_check_exit_1_and_says_so(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    path = save(tmp_path, fault_config(sim.url, tmp_path, slack_url=slack.url,
                                       smtp_port=smtp.port))  # fmt: skip
    slack.fail_next("no_service")

    done = CliRunner().invoke(app, check_args(path, DAY1))

    assert done.exit_code == EXIT_PARTIAL, done.output
    assert "deliveries: 1 sent, 1 failed" in done.stdout
    assert len(smtp.messages) == 1


def test_max_alerts_caps_each_digest_and_the_rest_are_counted(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    raw = fault_config(sim.url, tmp_path, slack_url=slack.url, smtp_port=smtp.port)
    for notifier in raw["notifiers"].values():
        notifier["max_alerts"] = 1
    result = run(Config.model_validate(raw))

    assert result.deliveries_sent == 2 and result.counts()["new"] == 2
    [post] = slack_texts(slack.messages)
    [mail] = mail_texts(smtp.messages)
    assert mail.count("What to do:") == 1  # one listed, the other counted and named:
    assert "1 more not listed here: 🔴 critical: 1 failed" in mail
    # Slack lists one and names the other among those left out.
    texts = [b["text"]["text"] for b in slack.messages[0]["blocks"] if b["type"] == "section"]
    entries, left_out = texts[-2:]
    assert (ALICE in entries) != (BOB in entries)
    assert left_out.startswith("*1 more not listed here*") and (BOB in left_out) != (
        ALICE in left_out
    )
    for text in (post, mail):
        assert "2 critical" in text
    # One listed of two is still a digest: its subject and fallback text count both.
    assert str(smtp.messages[0]["Subject"]).startswith("🔴 2 critical — ")
    assert slack.messages[0]["text"].startswith("🔴 2 critical — ")


def test_a_digest_that_fails_partway_is_resumed_not_repeated(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    users = [f"user-{i:03d}" for i in range(220)]
    sim = make_sim(many_users(len(users)))
    raw = fault_config(sim.url, tmp_path, logins=users, slack_url=slack.url)
    # Each user with an owner of its own: more names than one Slack message holds.
    raw["watch"] = [
        {"login": u, "owner": f"reseller {i:03d} {'x' * 40}"} for i, u in enumerate(users)
    ]
    config = Config.model_validate(raw)
    slack.fail_next("server_error", count=3, after=1)  # the 2nd part, and slack-sdk's 2 retries

    first = asyncio.run(run_once(config, day=DAY2, now=NOW2))
    after_first = len(slack.messages)
    second = asyncio.run(run_once(config, day=DAY2, now=NOW2 + timedelta(hours=1)))

    assert (first.deliveries_sent, first.deliveries_failed) == (0, 1)
    assert (second.deliveries_sent, second.deliveries_failed) == (1, 0)
    headers = [m["text"] for m in slack.messages]
    numbers = [re.search(r"part (\d+) of (\d+)$", h) for h in headers]
    assert all(numbers)
    [parts] = {int(n.group(2)) for n in numbers if n}
    assert after_first == 1 and len(headers) == parts >= 2
    assert [int(n.group(1)) for n in numbers if n] == list(range(1, len(headers) + 1))
    # Every user in the entries once (the headline names two more): none posted twice.
    bodies = [json.dumps(m["blocks"][1:], ensure_ascii=False) for m in slack.messages]
    seen = [login for text in bodies for login in logins_in(text, users)]
    assert sorted(seen) == sorted(users)
