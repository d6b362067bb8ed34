"""Scheduled reports (issue 18.7): `report --send` through the Slack stand-in and a real SMTP
server (aiosmtpd), the email's size at 2,000 users, hostile names, template overrides, the
config's checks, and a report sent once for its period by two instances on one database
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import Config, load_config
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import ConfigError
from cbsalert.reports.send import Sent, send_scheduled
from cbsalert.state import StateStore
from tests.conftest import config_dict, write_config
from tests.grid_history import ZONE, days, write, yesterday
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture

HOSTILE = "<b>evil</b> *bold* <!channel> @here"
WEEKLY = {"name": "weekly", "schedule": "0 8 * * 1", "days": 7, "kind": "summary",
          "notify": ["mail", "chat"]}  # fmt: skip


def make_config(tmp_path: Path, slack: SlackSink, smtp: SmtpSink, *, url: str | None = None,
                watch: list[dict[str, Any]] | None = None, **overrides: Any) -> Path:  # fmt: skip
    notifiers = {
        "chat": {"type": "slack", "webhook_url": slack.url},
        "mail": {"type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
                 "from": "cbsalert@example.com", "to": ["team@example.com"]},
    }  # fmt: skip
    overrides.setdefault("reports", [WEEKLY])
    raw = config_dict(
        "http://127.0.0.1:9", tmp_path, timezone=ZONE, notifiers=notifiers,
        state=url or f"sqlite:///{tmp_path / 'state.db'}",
        watch=watch or [{"login": "alice", "owner": "Acme"}, {"login": "bob", "owner": "Zed"}],
        **overrides,
    )  # fmt: skip
    return write_config(tmp_path / "cbsalert.yaml", raw)


def send(path: Path, name: str = "weekly") -> tuple[int, str, str]:
    done = CliRunner().invoke(app, ["report", "-c", str(path), "--send", name])
    return done.exit_code, done.stdout, done.stderr


def history(url: str) -> None:
    write(url, [*days("alice", "1", "oooooof", owner="Acme", name="Docs"),
                *days("alice", "2", "ooooooo", owner="Acme", name="Mail"),
                *days("bob", "1", "oowoooo", owner="Zed", name="Photos")])  # fmt: skip


def html_part(message: Any) -> str:
    return str(message.get_body(preferencelist=("html",)).get_content())


def text_part(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def test_send_emails_a_text_and_html_report_and_posts_a_short_slack_summary(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink
) -> None:
    path = make_config(tmp_path, slack, smtp)
    history(load_config(path).state)

    code, out, err = send(path)

    assert code == 0, err
    first = yesterday() - timedelta(days=6)
    assert out.strip() == f"report weekly ({first} to {yesterday()}) sent to mail, chat"
    [mail] = smtp.messages
    assert mail["Subject"].startswith("Backups on 127.0.0.1, ")
    assert "1 of 3 backup sets failed or did not run on some day" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-generated"
    text, html = text_part(mail), html_part(mail)
    assert "Docs" in text and "Photos" in text and "Mail" not in text.split("had no problem")[0]
    assert "✓✓✓✓✓✓✗" in text and "1 backup set had no problem" in text
    assert "<style" not in html and 'style="' in html and "Docs" in html
    [post] = slack.messages
    blocks = post["blocks"]
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= 150
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    body = json.dumps(post, ensure_ascii=False)
    assert "*3* backup sets · *2* with problems" in body and "`✓✓✓✓✓✓✗`" in body


def test_hostile_names_are_escaped_in_every_part(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink
) -> None:
    path = make_config(tmp_path, slack, smtp, watch=[{"login": HOSTILE, "owner": "<i>o</i>"}])
    write(
        load_config(path).state,
        days(HOSTILE, "1", "f", owner="<i>o</i>", name="<script>x</script>"),
    )

    assert send(path)[0] == 0

    [mail] = smtp.messages
    html = html_part(mail)
    assert "<b>evil" not in html and "&lt;b&gt;evil&lt;/b&gt;" in html
    assert "<script>" not in html and "<i>o" not in html
    body = json.dumps(slack.messages[0], ensure_ascii=False)
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body and "@here" not in body
    assert "*bold*" not in body and "<b>" not in body


def _world(users: int, failing_every: int) -> list[Any]:
    rows = []
    for n in range(users):
        bad = failing_every and n % failing_every == 0
        rows += days(f"customer-{n:05d}", "1", "oooooo" + ("f" if bad else "o"),
                     owner=f"reseller{n % 7}", name="Server (daily)")  # fmt: skip
        rows += days(f"customer-{n:05d}", "2", "ooooooo", owner=f"reseller{n % 7}", name="SQL")
    return rows


@pytest.mark.parametrize(("failing_every", "listed_all"), [(20, True), (1, False)])
def test_the_email_for_2000_users_stays_under_100_kb_listing_problem_rows_in_full(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink, failing_every: int, listed_all: bool
) -> None:
    grid = {**WEEKLY, "kind": "grid", "notify": ["mail"]}
    users = [{"login": f"customer-{n:05d}", "owner": f"reseller{n % 7}"} for n in range(2000)]
    path = make_config(tmp_path, slack, smtp, watch=users, reports=[grid])
    write(load_config(path).state, _world(2000, failing_every))

    assert send(path)[0] == 0

    [mail] = smtp.messages
    assert len(mail.as_bytes()) < 100_000
    text, html = text_part(mail), html_part(mail)
    problems = 2000 // failing_every
    assert f"{4000 - problems:,} backup sets had no problem" in text
    if listed_all:  # 100 failing sets: every one in both parts
        assert html.count("Server (daily)") == problems and text.count("Server (daily)") == problems
        assert "more backup set" not in html
    else:  # 2,000 failing sets: the worst that fit, the rest counted with the command
        listed = html.count("Server (daily)")
        assert 100 < listed < problems and text.count("Server (daily)") == listed
        assert f"and {problems - listed:,} more backup sets with problems" in html
        assert "cbsalert report --problems --days 7" in html


def test_a_report_template_prefix_overrides_the_parts_it_has(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink
) -> None:
    (tmp_path / "weekly-subject.txt.j2").write_text(
        "Week {{ report.first }}: {{ report.rate_text }}"
    )
    path = make_config(tmp_path, slack, smtp, reports=[{**WEEKLY, "template": "weekly"}])
    history(load_config(path).state)
    assert send(path)[0] == 0
    [mail] = smtp.messages
    assert mail["Subject"] == f"Week {yesterday() - timedelta(days=6)}: 95%"  # 20 of 21 days
    assert "Docs" in html_part(mail)  # the built-in body still


def test_validate_names_a_report_template_prefix_with_no_file_and_a_broken_one(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink
) -> None:
    path = make_config(tmp_path, slack, smtp, reports=[{**WEEKLY, "template": "nowhere"}])
    done = CliRunner().invoke(app, ["validate", "-c", str(path)])
    assert done.exit_code == 2 and "no report template found" in done.stderr
    (tmp_path / "broken-body.html.j2").write_text("{{ report.nope.deeper }}")
    path = make_config(tmp_path, slack, smtp, reports=[{**WEEKLY, "template": "broken"}])
    done = CliRunner().invoke(app, ["validate", "-c", str(path)])
    assert done.exit_code == 2 and "broken-body.html.j2:1" in done.stderr


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"reports": [{**WEEKLY, "notify": ["pager"]}]}, "reports[0].notify[0]: unknown notifier"),
        ({"reports": [{**WEEKLY, "schedule": "every monday"}]}, "invalid cron expression"),
        ({"reports": [WEEKLY, WEEKLY]}, "report name 'weekly' is used twice"),
        ({"reports": [{**WEEKLY, "days": 30}], "history_days": 20}, "30 days, but history_days"),
        ({"reports": [{**WEEKLY, "name": "a b"}]}, "reports[0].name: 1 to 40"),
        ({"status_page": {"enabled": True}}, "status_page.enabled: the status page is served"),
        ({"status_page": {"token": "short"}, "metrics_port": 0}, "at least 16 characters"),
        (
            {"status_page": {"enabled": True}, "metrics_port": 0, "history_days": 20},
            "status_page: user_days is 30 days, but history_days keeps 20",
        ),
    ],
)
def test_report_and_status_page_mistakes_are_config_errors_at_their_line(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink, change: dict[str, Any], said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(make_config(tmp_path, slack, smtp, **change))
    assert said in "\n".join([str(caught.value), *caught.value.problems])


def test_a_report_cannot_go_to_pagerduty(tmp_path: Path, slack: SlackSink, smtp: SmtpSink) -> None:
    path = make_config(tmp_path, slack, smtp)
    raw = path.read_text().replace(
        "notifiers:", "notifiers:\n  pd: {type: pagerduty, routing_key: k}"
    )
    path.write_text(raw.replace("- mail\n  - chat", "- pd"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "a report cannot go to a pagerduty notifier" in "\n".join(caught.value.problems)


def test_send_exits_1_naming_the_notifier_that_failed_and_still_sends_the_others(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink
) -> None:
    path = make_config(tmp_path, slack, smtp)
    history(load_config(path).state)
    slack.fail_next("no_service")
    code, _, err = send(path)
    assert code == 1 and "slack chat" in err and "no_service" in err
    assert "s3cr3tW3bh00kP4th" not in err and len(smtp.messages) == 1
    assert send(path, "nightly")[0] == 2


def test_send_needs_the_state_database(tmp_path: Path, slack: SlackSink, smtp: SmtpSink) -> None:
    code, _, err = send(make_config(tmp_path, slack, smtp))
    assert code == 4 and "no state database at" in err


def test_two_instances_send_a_report_once_for_its_period(
    tmp_path: Path, slack: SlackSink, smtp: SmtpSink, db_url: str
) -> None:
    """Two instances (a store each, as two processes have) fire the same report at the same
    moment, and a later firing within the period comes: one message in all."""
    config: Config = load_config(make_config(tmp_path, slack, smtp, url=db_url))
    history(db_url)
    now = datetime.now(UTC)
    results: list[Sent | None] = []
    start = threading.Barrier(2)

    def instance(n: int) -> None:
        start.wait()
        results.append(send_scheduled(config, config.reports[0], now, f"instance-{n}"))

    threads = [threading.Thread(target=instance, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r is None for r in results) == [False, True]
    assert (len(smtp.messages), len(slack.messages)) == (1, 1)
    assert send_scheduled(config, config.reports[0], now, "instance-3") is None  # a later firing
    assert (len(smtp.messages), len(slack.messages)) == (1, 1)
    store = StateStore(db_url)
    try:
        with store.engine.connect() as connection:
            slots = connection.exec_driver_sql("SELECT slot, finished_at FROM run_slots").all()
    finally:
        store.close()
    [(slot, finished)] = slots
    assert slot.startswith("report:weekly:") and slot.endswith(yesterday().isoformat())
    assert finished is not None
