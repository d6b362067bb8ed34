"""What the email says and where: the headline as subject and preheader, the summary on
top, one card per entry, resolved ones last, a complete text part (issue 17: 4, 5, 10).
The browser checks of the same messages are in test_email_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context, digest
from cbsalert.notify.email import EmailConfig
from tests.conftest import config_dict, write_config

DAY = date(2026, 11, 28)  # a Saturday
NOW = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def event(login: str, kind: str = "backup_status", severity: str = "critical",
          state: str = "new", set_id: str = "1", set_name: str = "Files", owner: str = "",
          summary: str = "", **more: Any) -> AlertEvent:  # fmt: skip
    finding = Finding(
        rule=f"{kind}-{severity}", kind=kind, severity=severity,  # type: ignore[arg-type]
        firing=state != "resolved", login=login, day=DAY, owner=owner, backup_set_id=set_id,
        backup_set_name=set_name, summary=summary or f"{login}: {kind} of {set_name}", **more,
    )  # fmt: skip
    return AlertEvent(finding, state)  # type: ignore[arg-type]


def context(events: list[AlertEvent], limit: int | None = None, **run: Any) -> dict[str, Any]:
    built = build_context(DAY, "UTC", events, NOW, limit=limit)
    built["run"].update(run)
    return built


def mail(ctx: dict[str, Any]) -> EmailMessage:
    settings = {"smtp_host": "127.0.0.1", "from": "a@example.com", "to": ["b@example.com"]}
    return EmailConfig.model_validate(settings).create("mail").render(ctx)  # type: ignore[no-any-return]


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


class Tags(HTMLParser):
    """The tags of a page, in order, with their attributes; and the text of the first
    element in <body>."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def classes(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.tags if attrs.get("class") == name]


def between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


FAILED = event("acme-fs", set_name="File server D:", owner="reseller1")
MISSED = event("lawfirm", "missing_backup", set_id="2", set_name="Exchange")
ERRORS = event("dental", "error_count", "warning", set_id="3", set_name="Patients")
FIXED = event("zeta", state="resolved", set_id="4", set_name="Mail", summary="Backup fixed.")


def test_the_subject_and_the_preheader_are_the_headline() -> None:
    ctx = context([FAILED, MISSED, ERRORS, FIXED])
    headline = digest.message(ctx)["headline"]
    assert headline.startswith("🔴 2 critical — acme-fs (File server D:), lawfirm (Exchange)")

    message = mail(ctx)

    assert message["Subject"] == headline
    _, html = bodies(message)
    body = html.split("<body", 1)[1]
    preheader = re.match(r"[^>]*>\s*<div style=\"([^\"]*)\">([^<]*)", body)
    assert preheader is not None, body[:300]
    assert "display:none" in preheader.group(1)  # hidden: a mail app only previews it
    assert preheader.group(2).startswith(headline.replace("&", "&amp;"))


def test_a_single_alert_is_named_in_the_subject_with_its_user_and_set() -> None:
    message = mail(context([event("acme-fs", set_name="File server D:", summary="It failed.")]))

    assert message["Subject"] == "🔴 acme-fs (File server D:): It failed. · backups of Sat 28 Nov"


def test_the_html_is_one_column_of_cards_with_inline_styles_and_nothing_external() -> None:
    _, html = bodies(mail(context([FAILED, MISSED, ERRORS, FIXED])))
    tags = Tags(html)

    names = {tag for tag, _ in tags.tags}
    assert not names & {"table", "style", "link", "img", "script", "iframe"}
    viewport = [a for tag, a in tags.tags if tag == "meta" and a.get("name") == "viewport"]
    assert viewport == [{"name": "viewport", "content": "width=device-width, initial-scale=1"}]
    cards = tags.classes("card")
    assert len(cards) == 3  # one per firing entry; the resolved one is a line
    assert all("border-left:6px solid" in card["style"] for card in cards)
    for word in ("🔴 Critical · new", "🟠 Warning · new"):  # a word and an emoji, not colour
        assert word in html


def test_the_summary_on_top_counts_what_happened_and_says_the_days_and_the_server() -> None:
    ctx = context([FAILED, MISSED, ERRORS, FIXED], server="backup.example.com")

    text, html = bodies(mail(ctx))

    summary = between(html, 'class="summary"', 'class="card"')
    said = "🔴 critical: 1 failed, 1 did not run · 🟠 warning: 1 with errors · ✅ 1 resolved"
    assert said in summary
    assert "Backups of Sat 28 Nov · CBS backup.example.com · checked 2026-11-29 07:00 UTC" in (
        summary
    )
    assert "By owner" not in summary  # ten entries or fewer: the list says it
    assert said in text
    assert "Backups of Sat 28 Nov · CBS backup.example.com" in text


def test_over_ten_entries_the_summary_counts_them_by_owner() -> None:
    events = [
        event(f"r1-{n:02}", owner="reseller1" if n < 9 else "reseller2", set_id=str(n))
        for n in range(11)
    ]

    text, html = bodies(mail(context(events)))

    summary = between(html, 'class="summary"', 'class="card"')
    assert "By owner: reseller1 <strong>9</strong> · reseller2 <strong>2</strong>" in summary
    assert "By owner: reseller1 9 · reseller2 2" in text


def test_a_card_holds_the_user_owner_set_destination_each_alert_since_when_and_what_to_do() -> None:
    failed = event("acme-fs", set_name="File server D:", owner="reseller1", summary="It failed.",
                   status="BS_STOP_BY_SYSTEM_ERROR", errors=1, warnings=0,
                   start_time=datetime(2026, 11, 28, 22, 15, tzinfo=UTC),
                   end_time=datetime(2026, 11, 28, 23, 40, tzinfo=UTC))  # fmt: skip
    errors = event("acme-fs", "error_count", "warning", set_name="File server D:",
                   owner="reseller1", summary="It logged 1 error.", errors=1)  # fmt: skip
    ctx = context([errors, failed])
    for alert in ctx["alerts"]:  # what the context will carry (names, first failed day)
        alert.update(destination_name="Offsite <NAS>", first_failed_day="2026-11-26",
                     days_failing=3, console_url="https://cbs.example.com/u?acme-fs")  # fmt: skip

    text, html = bodies(mail(ctx))

    [card] = re.findall(r'<div class="card".*?What to do:.*?</div>', html, re.S)
    facts = [
        "🔴 Critical · new",
        '<a href="https://cbs.example.com/u?acme-fs"',
        "acme-fs</a>",
        "owner reseller1",
        "File server D: · destination Offsite &lt;NAS&gt;",
        "It failed.",
        "ran 2026-11-28 22:15\u201323:40 UTC · stopped by a system error (BS_STOP_BY_SYSTEM_ERROR)"
        " · 1 error · failing since Thu 26 Nov, 3 days",
        "It logged 1 error.",
        "What to do:</strong> Open the backup report in AhsayCBS",
        "Read the errors in the job",
    ]
    positions = [card.find(fact) for fact in facts]
    assert -1 not in positions, [f for f, p in zip(facts, positions, strict=True) if p < 0]
    assert positions == sorted(positions)  # in this order: the most severe alert first
    assert "0 warnings" not in card
    assert "  - It failed.\n    ran 2026-11-28 22:15\u201323:40 UTC · stopped by a system" in text


def test_resolved_entries_come_once_compact_and_last() -> None:
    fixed_too = event("zeta", "error_count", "warning", state="resolved", set_id="4",
                      set_name="Mail", summary="No errors any more.")  # fmt: skip

    text, html = bodies(mail(context([FIXED, FAILED, fixed_too])))

    assert html.count("zeta") == 1 and text.count("zeta") == 1
    assert html.index("zeta") > html.rindex('class="card"')
    resolved = html.split("✅ RESOLVED", 1)[1]
    assert '<p class="line"' in resolved and "Backup fixed." in resolved
    assert text.index("✅ RESOLVED\n  zeta · Mail — Backup fixed.") > text.index("acme-fs")


def test_the_text_part_stays_complete_when_the_html_is_shortened() -> None:
    events = [event(f"user-{n:03}", set_id=str(n), summary=f"Backup {n} failed: " + "x" * 900)
              for n in range(260)]  # fmt: skip
    ctx = context(events, limit=200)

    text, html = bodies(mail(ctx))

    assert html.count('class="card"') < 200  # the HTML had to shorten ...
    for n in range(200):  # ... the text lists every listed alert in full
        assert f"Backup {n} failed: {'x' * 400}" in text
    assert "🔴 critical: 260 failed" in text  # the summary
    assert "60 more not listed here: 🔴 critical: 60 failed" in text  # what max_alerts left out
    assert "user-200, user-201" in text and "user-259" in text
    assert "cbsalert alerts" not in text


def test_test_notify_sends_the_new_layout_over_smtp(smtp: SmtpSink, tmp_path: Path) -> None:
    raw = config_dict("http://127.0.0.1:9", tmp_path)
    mail_settings = {"type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
                     "from": "cbsalert@example.com", "to": ["oncall@example.com"]}  # fmt: skip
    raw["notifiers"] = {"mail": mail_settings}
    path = write_config(tmp_path / "c.yaml", raw)

    done = CliRunner().invoke(app, ["test-notify", "mail", "-c", str(path)])

    assert done.exit_code == 0, done.output
    [message] = smtp.messages
    assert message["Subject"].startswith("TEST · 🔴 5 critical — ")
    text, html = bodies(message)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "TEST MESSAGE" in html and html.count('class="card"') == 9
    assert html.index('class="summary"') < html.index('class="card"')
    assert "TEST MESSAGE" in text and text.count("What to do:") == 9
