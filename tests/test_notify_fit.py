"""The email's HTML stays under the size at which Gmail clips it, whatever the number of
alerts, and says what it left out (cbsalert.notify.fit)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context, digest, fit
from cbsalert.notify.email import EmailConfig

DAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
GMAIL_CLIPS_AT = 100_000  # bytes; Gmail clips at about 102 KB
LONG = "x" * 5_000


def events(count: int, hostile: bool = False) -> list[AlertEvent]:
    """``count`` alerts, two in three failed backups (critical), the rest warnings; with
    ``hostile``, long names full of markup."""
    out = []
    for n in range(count):
        name = f"<b>{LONG}</b>&{n}" if hostile else f"Server {n}"
        finding = Finding(
            rule="failed" if n % 3 else "errors", kind="backup_status" if n % 3 else "error_count",
            severity="critical" if n % 3 else "warning", firing=True,
            login=f"{'<i>' + LONG if hostile else 'customer'}-{n:05}", day=DAY,
            owner=f"reseller{n % 7}" + (LONG if hostile else ""), backup_set_id=str(n),
            backup_set_name=name, summary=f"Backup of '{name}' failed." + (LONG if hostile else ""),
            job_id=LONG if hostile else None, status="BS_STOP_BY_SYSTEM_ERROR", errors=n % 5,
        )  # fmt: skip
        out.append(AlertEvent(finding, "new" if n % 2 else "repeat"))
    return out


def html_of(context: dict[str, Any], *, whole: bool = True) -> str:
    """The HTML part of the message; without ``whole``, that part alone (not the complete
    text part of 10,000 alerts too, which takes seconds)."""
    settings = {"smtp_host": "127.0.0.1", "from": "a@example.com", "to": ["b@example.com"]}
    notifier = EmailConfig.model_validate(settings).create("mail")
    if not whole:
        return str(notifier.render_html(context))
    part = notifier.render(context).get_body(("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("count", "hostile"), [(300, False), (300, True), (2_000, True), (10_000, True)]
)
def test_the_html_stays_under_gmails_clipping_size_and_counts_what_it_left_out(
    count: int, hostile: bool
) -> None:
    # max_alerts as high as the alerts: the size budget alone has to keep it small
    context = build_context(DAY, "UTC", events(count, hostile), NOW, limit=count)

    html = html_of(context, whole=count < 10_000)

    assert fit.size(html) < GMAIL_CLIPS_AT
    cards, lines = html.count('class="card"'), html.count('class="line"')
    assert cards >= fit.MIN_CARDS
    left = re.findall(r"<strong>(\d+) more not listed here:</strong>", html)
    assert cards + lines + sum(map(int, left)) == count  # every entry listed, or counted
    assert "cbsalert alerts" not in html
    if count > 300:  # left out: said by severity and what happened
        assert "🔴 critical:" in html.split('class="left-out"')[1]


def test_a_small_digest_is_all_cards_and_leaves_nothing_out() -> None:
    context = build_context(DAY, "UTC", events(30), NOW, limit=200)

    html = html_of(context)

    assert html.count('class="card"') == 30 and 'class="left-out"' not in html


def test_cut_counts_the_entries_it_drops_with_those_max_alerts_left_out() -> None:
    context = build_context(DAY, "UTC", events(12), NOW, limit=10)
    before = context["run"]["summary"]["left_out"]
    assert before["entries"] == 2

    listed = [e["login"] for e in digest.entries(context["alerts"])]

    shorter = fit.cut(context, 4)

    left = shorter["run"]["summary"]["left_out"]
    assert left["entries"] == 8 and left["critical"] + left["warning"] == 8
    assert left["logins"] == listed[4:] + before["logins"]  # the worse ones named first
    assert sum(row["count"] for row in left["what"]) == 8
    assert shorter["run"]["omitted"] == 8
    assert len(digest.entries(shorter["alerts"])) == 4
    assert fit.cut(context, 10) is context


def test_merging_left_out_users_names_at_most_the_listed_number_and_counts_the_rest() -> None:
    many = build_context(DAY, "UTC", events(300), NOW, limit=50)["run"]["summary"]["left_out"]
    few = build_context(DAY, "UTC", events(3), NOW, limit=0)["run"]["summary"]["left_out"]

    merged = fit.merge(few, many)

    assert len(merged["logins"]) == digest.LOGINS_LISTED
    assert merged["entries"] == 253
    assert merged["logins"][:4] == [*few["logins"], many["logins"][0]]
    assert len(merged["logins"]) + merged["more_logins"] == 253
