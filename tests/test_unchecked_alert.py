"""The built-in "this watched user could not be checked" alert, over several runs on the
simulator with the Slack stand-in: announced once, not repeated, resolved when the user is
checked again; silent when the whole CBS cannot be used (the meta-alert speaks then).

The story: alice and bob back up set 1 every night. Between runs alice's login is renamed
on the CBS (so ``alice`` is "not found") and later renamed back.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from cbsalert.config import Config, parse_config
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import EXIT_CBS, EXIT_OK, EXIT_PARTIAL, ConfigError
from cbsalert.labels import counts_phrase
from cbsalert.pipeline import RunResult, run_once
from cbsalert.rules import UNCHECKED_RULE_ID
from cbsalert.state import StateStore, open_store
from tests.conftest import SYS_PASSWORD, config_dict
from tests.scripted_sim import ScriptedSim

FIRST = date(2026, 11, 16)
FAILED = "BS_STOP_BY_SYSTEM_ERROR"


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def nightly(failed_on: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    return [
        {"set": "1", "start": f"{day(i)} 22:00:00", "end": f"{day(i)} 22:20:00",
         "status": FAILED if i in failed_on else "BS_STOP_SUCCESS"}
        for i in range(8)
    ]  # fmt: skip


def world(alice: str = "alice", alice_failed_on: tuple[int, ...] = ()) -> SimData:
    """The CBS's users; ``alice`` is the login alice has on the CBS right now."""
    return SimData.model_validate({
        "system_password": SYS_PASSWORD, "today": str(day(8)),
        "users": [
            {"login": alice, "backup_sets": [{"id": "1", "name": "Docs"}],
             "jobs": nightly(alice_failed_on)},
            {"login": "bob", "backup_sets": [{"id": "1", "name": "Mail"}], "jobs": nightly()},
        ],
    })  # fmt: skip


def make_config(sim: Simulator, slack: SlackSink, tmp_path: Path, **overrides: Any) -> Config:
    raw = config_dict(sim.url, tmp_path, **{
        "watch": [{"login": "alice"}, {"login": "bob"}],
        "rules": [{"id": "failed", "kind": "backup_status", "notify": ["ops"]}],
        "notifiers": {"ops": {"type": "slack", "webhook_url": slack.url}},
        **overrides,
    })  # fmt: skip
    return Config.model_validate(raw)


def check(config: Config, n: int, *, hours_after: float = 7) -> RunResult:
    """Check ``day(n)`` the next morning (``hours_after`` midnight UTC)."""
    now = datetime.combine(day(n + 1), datetime.min.time(), UTC) + timedelta(hours=hours_after)
    return asyncio.run(run_once(config, day=day(n), now=now))


def unchecked(result: RunResult) -> list[tuple[str, str]]:
    """(login, state) of the unchecked-user events this run reported."""
    return [
        (e.finding.login, e.state) for e in result.reported if e.finding.rule == UNCHECKED_RULE_ID
    ]


def texts(slack: SlackSink) -> list[str]:
    return [json.dumps(m, ensure_ascii=False) for m in slack.messages]


def headline(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def stored(config: Config) -> dict[tuple[str, str], str]:
    store = open_store(config.state, auto_upgrade=True)
    try:
        return {(a["rule"], a["login"]): a["state"] for a in store.list_alerts(True)}
    finally:
        store.close()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(world())


def test_a_user_that_cannot_be_checked_is_announced_once_and_resolved_when_checked_again(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    config = make_config(sim, slack, tmp_path)
    assert check(config, 0).exit_code == EXIT_OK
    assert slack.messages == []

    sim.set_data(world(alice="alice-renamed"))
    first = check(config, 1)
    assert first.exit_code == EXIT_PARTIAL
    assert unchecked(first) == [("alice", "new")]
    [message] = texts(slack)
    assert "could not check alice" in message and "User 'alice' not found" in message
    assert "1 user not checked" in headline(slack.messages[0])
    assert headline(slack.messages[0]).startswith("*🟠")  # warning by default

    second = check(config, 2)
    assert unchecked(second) == [("alice", "firing")]
    assert len(slack.messages) == 1  # not one message per run

    sim.set_data(world())
    again = check(config, 2, hours_after=10)  # a later run of the same day checks her again
    assert again.exit_code == EXIT_OK
    assert unchecked(again) == [("alice", "resolved")]
    assert len(slack.messages) == 2
    assert "can check alice again" in texts(slack)[1]
    assert "not checked" not in headline(slack.messages[1])
    assert check(config, 3).reported == []
    assert len(slack.messages) == 2
    assert stored(config)[(UNCHECKED_RULE_ID, "alice")] == "resolved"


def test_the_users_own_alerts_stay_as_they_are_while_it_cannot_be_checked(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    sim.set_data(world(alice_failed_on=(0,)))
    config = make_config(sim, slack, tmp_path)
    check(config, 0)
    assert stored(config) == {("failed", "alice"): "firing"}

    sim.set_data(world(alice="alice-renamed", alice_failed_on=(0,)))
    check(config, 1)
    assert stored(config) == {("failed", "alice"): "firing", (UNCHECKED_RULE_ID, "alice"): "firing"}

    sim.set_data(world(alice_failed_on=(0,)))
    back = check(config, 2)
    assert sorted((e.finding.rule, e.state) for e in back.reported) == [
        (UNCHECKED_RULE_ID, "resolved"),
        ("failed", "resolved"),
    ]
    assert len(slack.messages) == 3  # day 0, day 1, and one message for both resolutions


def test_when_the_cbs_cannot_be_used_no_user_alert_fires_or_resolves(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    config = make_config(sim, slack, tmp_path)
    sim.set_data(world(alice="alice-renamed"))
    check(config, 1)
    assert len(slack.messages) == 1

    wrong = make_config(sim, slack, tmp_path, cbs={"sys_password": "not-the-password"})
    sim.set_data(world())  # alice is back, but nobody can tell: the CBS refuses us
    down = check(wrong, 2)
    assert down.exit_code == EXIT_CBS
    # alice's alert is still reported as firing (every firing alert is), but nothing changed
    assert unchecked(down) == [("alice", "firing")]
    changed = [e.finding.kind for e in down.reported if e.state != "firing"]
    assert changed == ["cbs_unreachable"]
    assert stored(config)[(UNCHECKED_RULE_ID, "alice")] == "firing"
    assert stored(config).get((UNCHECKED_RULE_ID, "bob")) is None
    # No backup was checked at all: the message says so (the headline is the meta-alert's
    # summary) instead of counting the users not checked.
    [small] = [b for b in slack.messages[1]["blocks"] if b["type"] == "context"]
    assert small["elements"][0]["text"].startswith("No backup checked · CBS")
    assert headline(slack.messages[1]).startswith("*🔴 cbsalert cannot log in to CBS")
    assert "No backup was checked" in json.dumps(slack.messages[1], ensure_ascii=False)

    up = check(config, 3)
    assert sorted(e.finding.kind for e in up.reported) == ["cbs_unreachable", "user_unchecked"]
    assert {e.state for e in up.reported} == {"resolved"}
    assert len(slack.messages) == 3


def test_several_users_not_checked_are_one_message_counting_them_all(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    config = make_config(sim, slack, tmp_path)
    sim.set_data(world(alice="alice-renamed"))
    sim.inject("500", count=2, operation="ListBackupJobMode", login="bob")  # retries included

    result = check(config, 1)

    assert sorted(unchecked(result)) == [("alice", "new"), ("bob", "new")]
    [message] = slack.messages
    assert "2 users not checked" in headline(message)
    assert "HTTP 500" in json.dumps(message)


def test_the_unchecked_alert_goes_where_unchecked_alert_says_at_its_severity(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    mail = {"type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
            "from": "cbsalert@example.com", "to": ["ops@example.com"]}  # fmt: skip
    config = make_config(
        sim, slack, tmp_path,
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}, "mail": mail},
        unchecked_alert={"notify": ["mail"], "severity": "critical"},
    )  # fmt: skip
    sim.set_data(world(alice="alice-renamed"))

    check(config, 1)

    assert slack.messages == []
    [sent] = smtp.messages
    subject = str(sent["Subject"])
    assert subject.startswith("🔴 alice: cbsalert could not check alice")
    assert "1 user not checked" in subject
    body = sent.get_body(("plain",))
    assert body is not None and "1 user not checked" in body.get_content()


def test_unchecked_alert_names_only_known_notifiers() -> None:
    text = f"""\
cbs:
  url: http://127.0.0.1:9
  sys_user: system
  sys_password: {SYS_PASSWORD}
watch:
  - login: alice
rules:
  - id: failed
    kind: backup_status
notifiers: {{}}
unchecked_alert:
  notify:
    - oncall
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml")
    assert caught.value.problems == [
        "c.yaml:13: unchecked_alert.notify[0]: unknown notifier 'oncall' (known: none)"
    ]


def test_the_headers_count_phrase_says_how_many_users_were_not_checked() -> None:
    assert counts_phrase({"critical": 1, "unchecked": 2}) == "1 critical, 2 users not checked"
    assert counts_phrase({"unchecked": 1}) == "1 user not checked"
    assert counts_phrase({"critical": 0}) == "no alerts"  # a message stored by an older cbsalert


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLite file, or a fresh schema on the test PostgreSQL (CBSALERT_TEST_PG_URL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    base = os.environ.get("CBSALERT_TEST_PG_URL")
    if not base:
        pytest.skip("CBSALERT_TEST_PG_URL is not set")
    schema = f"cbsalert_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    store = StateStore(url.render_as_string(hide_password=False))
    try:
        store.upgrade()  # check upgrades SQLite only
        store.close()
        yield store.url
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_a_hostile_error_message_is_stored_and_told_as_one_plain_line(
    slack: SlackSink, tmp_path: Path, state_url: str
) -> None:
    """The CBS's error text is the first CBS text an unchecked alert stores: a NUL byte must
    not stop the run on PostgreSQL, a newline or an escape must not reach a person raw."""
    data = world().model_dump(mode="json", exclude={"system_password", "today"})
    hostile = "Cannot read\x00 the job list\nrun 9 finished: all fine \x1b[2J\u202e"
    with ScriptedSim(data, api_error={"alice": hostile}) as sim:
        config = make_config(sim, slack, tmp_path, state=state_url)
        result = check(config, 1)
        store = open_store(state_url, auto_upgrade=False)
        try:
            [alert] = store.list_alerts()
        finally:
            store.close()

    assert result.exit_code == EXIT_PARTIAL and result.deliveries_sent == 1
    assert alert["rule"] == UNCHECKED_RULE_ID
    assert alert["summary"].endswith(": Cannot read the job list run 9 finished: all fine [2J")
    assert not any(c in json.dumps(slack.messages) for c in ("\\u0000", "\\n run", "\\u001b"))
