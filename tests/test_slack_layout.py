"""The Slack message's layout, rendered without sending: the headline first, a summary,
one entry per backup set, resolved ones once, what was left out by name, and all of it in
one message as long as Block Kit allows."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.devtools import blockkit
from cbsalert.devtools.slack import SlackSink
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext, build_context
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_blocks import MAX_BLOCKS
from cbsalert.notify.slack_text import escape_mrkdwn
from cbsalert.notify.testmsg import HOSTILE_LOGIN, HOSTILE_NAME, HOSTILE_SUMMARY
from tests.conftest import config_dict, write_config

DAY = date(2026, 11, 28)  # a Saturday
NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
START = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def event(login: str, rule: str = "failed", kind: str = "backup_status", severity: Any = "critical",
          state: Any = "new", set_id: str | None = "1", set_name: str | None = "Files",
          owner: str = "", summary: str = "Backup of 'Files' failed.", days: int | None = None,
          **fields: Any) -> AlertEvent:  # fmt: skip
    finding = Finding(
        rule=rule, kind=kind, severity=severity, firing=state != "resolved", login=login,
        day=DAY, owner=owner, backup_set_id=set_id, backup_set_name=set_name, summary=summary,
        **fields,
    )  # fmt: skip
    first = DAY - timedelta(days=days - 1) if days else None  # as the state counts them
    return AlertEvent(finding, state, since=NOW, days_failing=days, first_failed_day=first)


def context(events: list[AlertEvent], limit: int | None = None, **run: Any) -> MessageContext:
    built = build_context(DAY, "Europe/Amsterdam", events, NOW, limit=limit)
    built["run"].update(run)
    return built


def render(ctx: MessageContext, **settings: Any) -> list[dict[str, Any]]:
    notifier = SlackConfig(webhook_url="https://hooks.slack.com/services/T/B/X", **settings)
    payloads: list[dict[str, Any]] = notifier.create("ops").render(ctx)
    return payloads


def sections(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def kinds(payload: dict[str, Any]) -> list[str]:
    return [b["type"] for b in payload["blocks"]]


def many(count: int, prefix: str = "customer", **fields: Any) -> list[AlertEvent]:
    return [event(f"{prefix}-{i:03d}", set_id=str(i), set_name=f"Server {i}", **fields)
            for i in range(count)]  # fmt: skip


# -- the top ----------------------------------------------------------------------------------


def test_the_notification_text_and_the_first_block_are_the_headline_naming_the_worst() -> None:
    ctx = context([
        event("acme-fs", set_name="File server D:"),
        event("lawfirm", kind="missing_backup", rule="missed", set_id="2", set_name="Exchange"),
        event("dental", "errors", "error_count", "warning", set_id="3"),
    ])  # fmt: skip

    [payload] = render(ctx)

    headline = "🔴 2 critical — acme-fs (File server D:), lawfirm (Exchange) · 1 warning"
    assert payload["text"] == escape_mrkdwn(headline + " · backups of Sat 28 Nov")
    assert payload["blocks"][0]["text"]["text"].startswith("*" + escape_mrkdwn(headline))


def test_the_summary_counts_what_happened_and_by_owner_then_days_server_and_time() -> None:
    events = [
        *many(9, owner="reseller-north"),
        event("solo", kind="missing_backup", rule="missed", owner="reseller-south", set_id="x"),
        event("other", "errors", "error_count", "warning", set_id="y"),
    ]

    [payload] = render(context(events, server="backup.example.com"))

    summary, small = payload["blocks"][1]["text"]["text"], payload["blocks"][2]
    assert summary == (
        "🔴 9 failed · 🔴 1 did not run · 🟠 1 with errors\n"
        "*By owner:* reseller-north 9, reseller-south 1, no owner 1"
    )
    assert small["type"] == "context"
    assert small["elements"][0]["text"] == (
        "Backups of *Sat 28 Nov* · CBS *backup.example.com* · checked 2026-11-29 07:00 CET · 11 new"
    )


def test_a_message_about_one_entry_has_no_summary_to_repeat_it() -> None:
    [payload] = render(context([event("acme")]))

    assert kinds(payload)[:4] == ["section", "context", "divider", "section"]


# -- entries ----------------------------------------------------------------------------------


def test_a_failed_job_that_logged_an_error_is_one_entry_with_both_most_severe_first() -> None:
    ctx = context([
        event("acme", "errors", "error_count", "warning", summary="Backup logged 1 error.",
              job_id="j1", start_time=START, end_time=START + timedelta(minutes=30), errors=1),
        event("acme", status="BS_STOP_BY_SYSTEM_ERROR", job_id="j1", start_time=START,
              end_time=START + timedelta(minutes=30), errors=1, warnings=0),
        event("zeta", set_id="2", set_name="Mail"),
    ])  # fmt: skip

    [payload] = render(ctx)

    assert kinds(payload)[4:] == ["section", "divider", "section"]
    acme = sections(payload)[2]
    assert acme.splitlines() == [
        "*acme*",
        "*Files*",
        "🔴 Critical · new — Backup of 'Files' failed.",
        # the job's facts, once for both alerts: the warning's summary says "1 error"
        "Job ran 2026-11-28 23:00\u201323:30 CET · stopped by a system error "
        "(BS_STOP_BY_SYSTEM_ERROR)",
        "🟠 Warning · new — Backup logged 1 error.",
        ":bulb: Open the backup report in AhsayCBS (Monitoring &gt; Backup / Restore Logs), fix "
        "the cause and rerun the job.",
        "To silence it: `cbsalert silence --rule failed --login acme --backup-set 1 --until "
        "2026-12-06 --reason acknowledged`",
    ]


def test_an_entry_says_since_when_where_and_links_the_console_when_it_knows() -> None:
    ctx = context([event("acme", state="repeat", days=3, owner="reseller1")])
    alert = ctx["alerts"][0]
    alert.update(first_failed_day="2026-11-26", destination_name="Offsite",
                 console_url="https://cbs.example.com/users/acme",
                 silence_command="cbsalert silence failed acme --set 1 --days 7")  # fmt: skip

    entry = sections(render(ctx)[0])[1]

    assert entry.splitlines()[:3] == [
        "<https://cbs.example.com/users/acme|*acme*> · reseller1",
        "*Files* · destination Offsite",
        "🔴 Critical · still failing — Backup of 'Files' failed. · failing since "
        "Thu 26 Nov, 3 days",
    ]
    assert entry.endswith("\nTo silence it: `cbsalert silence failed acme --set 1 --days 7`")


def test_the_server_alert_is_about_the_server_not_a_user() -> None:
    meta = event("(cbs)", "cbs", "cbs_unreachable", set_id=None, set_name=None, summary="down")

    entry = sections(render(context([meta], server="backup.example.com"))[0])[1]

    assert entry.startswith("*CBS backup.example.com*\n🔴 Critical · new — down")


def test_resolved_entries_come_once_after_the_others_one_line_each_saying_why() -> None:
    ctx = context([
        event("acme", state="resolved", days=3),
        event("acme", "errors", "error_count", "warning", state="resolved"),
        event("zeta", set_id="2", set_name="Mail"),
    ])  # fmt: skip

    [payload] = render(ctx)

    assert kinds(payload)[-4:] == ["divider", "section", "divider", "section"]
    assert sections(payload)[-1] == (
        "✅ *acme* · Files — resolved (failed, with errors): Backup of 'Files' failed. · "
        "was failing for 3 days, since Thu 26 Nov"
    )


# -- one message ------------------------------------------------------------------------------


def test_many_full_entries_are_packed_several_to_a_section_within_fifty_blocks() -> None:
    # 25 entries and the dividers between them would be 49 blocks, more than the head leaves.
    [payload] = render(context(many(25)), compact_over=100)

    assert len(payload["blocks"]) <= MAX_BLOCKS and blockkit.problems(payload) == []
    entries = [t for t in sections(payload) if ":bulb:" in t]
    assert len(entries) < 25 and sum(t.count(":bulb:") for t in entries) == 25
    assert "\n\n*customer-001*" in entries[0]


def test_over_compact_over_each_entry_is_one_line_keeping_owner_and_new_or_reminder() -> None:
    late = event("late", state="repeat", set_id="r", owner="reseller-south", days=2)
    events = [*many(30, owner="reseller-north"), late]

    [payload] = render(context(events))

    lines = "\n".join(sections(payload)[2:]).splitlines()
    assert len(lines) == 31
    assert lines[0] == "🔴 *customer-000* (reseller-north) · Server 0 — failed · new"
    assert "🔴 *late* (reseller-south) · Files — failed · still failing" in lines


def test_max_alerts_entries_are_one_message_grouped_by_what_state_and_owner() -> None:
    events = [
        *many(150, owner="reseller-north"),
        *many(50, "late", state="repeat", owner="reseller-south"),
        *many(100, "more", owner="x"),
    ]

    payloads = render(context(events, limit=200))

    [payload] = payloads  # one message for max_alerts (200) entries: no "(1/3)"
    assert blockkit.problems(payload) == []
    text = "\n".join(sections(payload))
    assert "🔴 *failed · new* (150)\n*reseller-north* (150): customer-000 (Server 0)," in text
    assert "🔴 *failed · still failing* (50)\n*reseller-south* (50):" in text
    assert len(set(re.findall(r"(?:customer|late)-\d{3} \(Server", text))) == 200


def test_what_a_limited_message_left_out_is_counted_and_its_users_named() -> None:
    events = (
        many(3)
        + [
            event(f"left-{i:03d}-{'x' * 30}", kind="missing_backup", rule="missed", set_id=f"l{i}")
            for i in range(60)
        ]
        + [event("left-warn", "errors", "error_count", "warning", set_id="w")]
    )

    [payload] = render(context(events, limit=3))

    left = sections(payload)[-1]
    assert left.startswith(
        "*61 more not listed here* (the notifier's max_alerts): 60 critical, 1 warning — "
        "60 did not run, 1 with errors\nUsers: left-000-xxx"
    )
    named = left.split("\nUsers: ")[1]
    assert len(named) < 1600 and named.endswith(" more") and "left-warn" not in named
    assert "cbsalert alerts" not in json.dumps(payload)


# -- escaping ---------------------------------------------------------------------------------


def test_hostile_data_is_inert_in_every_form_of_the_message() -> None:
    hostile = dict(owner=HOSTILE_LOGIN, set_name=HOSTILE_NAME, summary=HOSTILE_SUMMARY,
                   status="<!here>")  # fmt: skip
    for count, limit in ((1, None), (30, None), (300, 200)):
        events = [event(f"{HOSTILE_LOGIN}{i}", set_id=str(i), **hostile) for i in range(count)]
        ctx = context(events, limit=limit, server="<!channel> *x*")
        ctx["alerts"][0].update(destination_name="<@U1>", console_url="https://x/|<!here>")
        for payload in render(ctx):
            assert blockkit.problems(payload) == []
            for text in [payload["text"], *sections(payload)]:
                assert not re.search(r"<(?!https://x/%7C%3C!here%3E\|)", text), text
                assert "@here" not in text and "*bold*" not in text and "_under_" not in text


# -- cbsalert test-notify ---------------------------------------------------------------------


def test_test_notify_posts_the_new_layout(tmp_path: Path) -> None:
    with SlackSink() as slack:
        raw = config_dict("http://127.0.0.1:9", tmp_path)
        raw["notifiers"] = {"ops": {"type": "slack", "webhook_url": slack.url}}
        result = CliRunner().invoke(app, ["test-notify", "ops", "-c", str(write_config(
            tmp_path / "c.yaml", raw))])  # fmt: skip
        assert result.exit_code == 0, result.stderr
        [payload] = slack.messages

    assert payload["text"].startswith("TEST · 🔴")
    assert kinds(payload)[:4] == ["section", "section", "context", "divider"]
    assert "*Test message* with sample alerts" in payload["blocks"][2]["elements"][0]["text"]
    entries = sections(payload)[2:]
    assert all(":bulb:" in t for t in entries[:-1])  # whole entries, resolved last
    assert entries[-1].startswith("✅")
