"""The meta-alert in the words of what happened, as the server (issue 17.3), and the server's
name and console in every message (17.6): real runs against the simulator, a hostile CBS
and a closed port, delivered to aiosmtpd and the Slack stand-in."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.pipeline import RunResult, run_once
from cbsalert.rules import META_RULE_ID
from cbsalert.state import open_store
from tests.conftest import config_dict
from tests.hostile import HostileCbs, status

DAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
NAME = "backup.example.com"
CONSOLE = "https://backup.example.com/cbs/"
WORLD: dict[str, Any] = {
    "users": [
        {
            "login": "obm",
            "backup_sets": [{"id": "1", "name": "Docs"}],
            "jobs": [{"set": "1", "start": "2026-11-22 22:00:00", "end": "2026-11-22 22:10:00",
                      "status": "BS_STOP_BY_SYSTEM_ERROR"}],
        }
    ]
}  # fmt: skip


def make_config(url: str, tmp_path: Path, smtp: SmtpSink, slack: SlackSink, **cbs: Any) -> Config:
    notifiers = {
        "mail": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                 "from": "cbsalert@example.com", "to": ["oncall@example.com"], "timeout_s": 2},
        "chat": {"type": "slack", "webhook_url": slack.url},
    }  # fmt: skip
    cbs = {"name": NAME, "retries": 0, **cbs}
    rules = [{"id": "backup-failed", "kind": "backup_status", "notify": ["mail", "chat"]}]
    return Config.model_validate(
        config_dict(url, tmp_path, cbs=cbs, notifiers=notifiers, rules=rules)
    )


def run(config: Config) -> RunResult:
    return asyncio.run(run_once(config, day=DAY, now=NOW))


def texts(message: EmailMessage) -> tuple[str, str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(message["Subject"]), text.get_content(), html.get_content()


def slack_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def assert_said_as_the_server(smtp: SmtpSink, slack: SlackSink, headline: str) -> None:
    """One message to each notifier that says ``headline``, names the server, not a user
    "(cbs)" with "all backup sets", and claims no backup day was checked."""
    [mail], [chat] = smtp.messages, slack.messages
    subject, text, html = texts(mail)
    assert subject.startswith(f"🔴 {headline}"), subject
    assert "backups" not in subject, subject
    for shown in (text, html, slack_text(chat)):
        assert headline in shown
        said = shown.split("To silence it")[0]  # the silence line names the alert's key
        assert "(cbs)" not in said and "all backup sets" not in said
        assert "2026-11-22" not in said  # no day claimed as checked
    assert f"🔴 Critical · new — CBS {NAME}" in text
    assert f"*CBS {NAME}*" in slack_text(chat)


def test_wrong_system_credentials_say_cbsalert_cannot_log_in(
    make_sim: Callable[..., Simulator], smtp: SmtpSink, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(WORLD)
    result = run(make_config(sim.url, tmp_path, smtp, slack, sys_password="not-the-password-42"))

    assert result.fatal is not None and result.fatal_cause == "login"
    assert_said_as_the_server(
        smtp, slack, f"cbsalert cannot log in to CBS {NAME}: wrong system user or password"
    )
    _, text, _ = texts(smtp.messages[0])
    assert "Incorrect system username/password" in text  # the CBS's own answer, too


def test_a_closed_port_says_cbsalert_cannot_reach_the_cbs(
    smtp: SmtpSink, slack: SlackSink, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run(make_config(url, tmp_path, smtp, slack))

    assert result.fatal_cause == "reach"
    assert_said_as_the_server(smtp, slack, f"cbsalert cannot reach CBS {NAME}: ")


def test_a_cbs_answering_503_to_everyone_says_it_answers_errors(
    hostile: Callable[..., HostileCbs], smtp: SmtpSink, slack: SlackSink, tmp_path: Path
) -> None:
    server = hostile(WORLD)
    server.script(status(503, "Service Unavailable"))
    result = run(make_config(server.url, tmp_path, smtp, slack))

    assert result.fatal_cause == "answers"
    assert_said_as_the_server(smtp, slack, f"CBS {NAME} answers errors: ")


def test_the_meta_alert_keeps_the_key_older_versions_stored(
    make_sim: Callable[..., Simulator], smtp: SmtpSink, slack: SlackSink, tmp_path: Path
) -> None:
    """Its login "(cbs)" is part of its key: a new key would announce a firing meta-alert
    again after an upgrade."""
    sim = make_sim(WORLD)
    config = make_config(sim.url, tmp_path, smtp, slack, sys_password="not-the-password-42")
    run(config)
    store = open_store(config.state, auto_upgrade=False)
    try:
        [row] = store.list_alerts(include_resolved=True)
    finally:
        store.close()
    assert row["key"] == f"{META_RULE_ID}|(cbs)||"


def test_every_message_names_the_server_and_links_its_console(
    make_sim: Callable[..., Simulator], smtp: SmtpSink, slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(WORLD)
    run(make_config(sim.url, tmp_path, smtp, slack, console_url=CONSOLE))

    [mail], [chat] = smtp.messages, slack.messages
    subject, text, html = texts(mail)
    assert subject.endswith("· backups of Sun 22 Nov")
    assert f"Backups of Sun 22 Nov · CBS {NAME} · checked" in text
    assert f"CBS console: {CONSOLE}" in text
    assert f'<a href="{CONSOLE}" style="color:#0b57d0;">obm</a>' in html
    assert f'CBS console: <a href="{CONSOLE}" style="color:#0b57d0;">{NAME}</a>' in html
    assert f"CBS <{CONSOLE}|*{NAME}*>" in slack_text(chat)
    line = "cbsalert silence --rule backup-failed --login obm --backup-set 1 --until 2026-11-30"
    assert f"To silence it: {line} --reason acknowledged" in text
    assert f"To silence it: `{line}" in slack_text(chat)


def test_the_server_is_named_after_the_url_host_by_default(tmp_path: Path) -> None:
    raw = config_dict("https://api-user:pw@Backup.Example.COM:8443/", tmp_path)
    assert Config.model_validate(raw).cbs.name == "backup.example.com"
