"""The Teams notifier against a Workflows webhook stand-in (cbsalert.devtools.teams), which
takes only the message shape a workflow takes and refuses a body over 28 KB."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.devtools.receiver import JsonReceiver
from cbsalert.devtools.teams import MAX_BYTES, card_texts, teams_sink
from cbsalert.errors import DeliveryError
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext, build_context, digest
from cbsalert.notify.http import json_bytes
from cbsalert.notify.kinds import TeamsConfig
from cbsalert.notify.teams import inert
from cbsalert.notify.testmsg import HOSTILE_LOGIN, sample_context
from tests.test_notify_hostile_text import UNSAFE, hostile_context

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
PATH = "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=T3amsS1gnatur3x"


@pytest.fixture
def sink() -> Iterator[JsonReceiver]:
    with teams_sink() as server:
        yield server


def teams(sink: JsonReceiver) -> Any:
    config = TeamsConfig.model_validate({"webhook_url": sink.base_url + PATH, "timeout_s": 2})
    return config.create("ops-teams")


def many(count: int, limit: int | None = None) -> MessageContext:
    """``count`` failed backups with long summaries, one per user."""
    day = date(2026, 11, 22)
    events = [
        AlertEvent(
            Finding(
                rule="backup-failed",
                kind="backup_status",
                severity="critical",
                firing=True,
                login=f"user-{i:03d}",
                day=day,
                backup_set_id=f"{i}",
                backup_set_name=f"Documents of user {i}",
                summary="Backup failed. " * 40,
            ),
            "new",
            since=NOW - timedelta(days=3),
            days_failing=3,
        )
        for i in range(count)
    ]
    return build_context(day, ZONE, events, NOW, limit=limit)


def test_the_card_reads_summary_first_with_one_entry_per_backup_set(sink: JsonReceiver) -> None:
    context = sample_context(NOW, ZONE)

    teams(sink).send(context)

    [request] = sink.requests
    assert request.status == 202 and request.path == PATH
    [payload] = sink.accepted
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = card_texts(payload)
    message = digest.message(context)
    assert texts[0] == inert(message["headline"], 400)
    assert texts[1].startswith("Backups of ") and "CBS backup.example.com" in texts[1]
    assert texts[2].startswith("What happened: ")
    assert sum(t.startswith("What to do: ") for t in texts) == len(message["entries"])
    assert not any("more alert" in t for t in texts)


def test_a_large_digest_is_cut_to_fit_teams_and_says_how_many_alerts_were_left_out(
    sink: JsonReceiver,
) -> None:
    context = many(150)

    teams(sink).send(context)

    [request] = sink.requests
    assert request.ok and len(request.body) <= MAX_BYTES
    texts = card_texts(request.payload)
    listed = sum(t.startswith("What to do: ") for t in texts)
    match = re.match(r"… and (\d+) more alerts, not listed here", texts[-1])
    assert match is not None and 20 < listed < 150
    assert listed + int(match.group(1)) == 150


def test_alerts_the_digest_left_out_are_counted_with_those_cut_for_size(
    sink: JsonReceiver,
) -> None:
    teams(sink).send(many(5, limit=3))

    texts = card_texts(sink.accepted[0])
    assert sum(t.startswith("What to do: ") for t in texts) == 3
    assert texts[-1].startswith("… and 2 more alerts")


def test_names_from_the_cbs_format_nothing_in_a_card(sink: JsonReceiver) -> None:
    teams(sink).send(hostile_context(3))
    teams(sink).send(sample_context(NOW, ZONE, hostile=True))

    texts = [t for payload in sink.accepted for t in card_texts(payload)]
    assert len(sink.accepted) == 2
    assert not any(UNSAFE.search(t) for t in texts)
    assert not any("*bold*" in t or "_under_" in t or "~strike~" in t for t in texts)
    assert not any(re.search(r"\[[^\]]*\]\(", t) for t in texts)  # no Markdown link
    assert any("<!channel> & @here" in t for t in texts)  # readable, as text
    assert HOSTILE_LOGIN not in " ".join(texts)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("- not a list", "\u2010 not a list"),
        ("1. not a list", "1\u2024 not a list"),
        ("[click](https://evil.example)", "\uff3bclick\uff3d(https://evil.example)"),
        ("daily_backup *x* `y`", "daily\u02cdbackup \u2217x\u2217 \u02cby\u02cb"),
        ("line\nforged\x1b[2J", "line forged\uff3b2J"),
    ],
)
def test_inert_text_keeps_the_words_and_loses_the_markdown(value: str, shown: str) -> None:
    assert inert(value) == shown


def test_a_test_message_is_marked(sink: JsonReceiver) -> None:
    teams(sink).send(sample_context(NOW, ZONE, test=True))

    texts = card_texts(sink.accepted[0])
    assert texts[0].startswith("TEST · ") and texts[1].startswith("TEST MESSAGE from cbsalert")


def test_refusals_are_permanent_rate_limits_retried_and_the_url_stays_secret(
    sink: JsonReceiver,
) -> None:
    sink.fail_next(429, retry_after=0)
    teams(sink).send(sample_context(NOW, ZONE))
    sink.fail_next(404)

    with pytest.raises(DeliveryError) as failure:
        teams(sink).send(sample_context(NOW, ZONE))

    assert [r.status for r in sink.requests] == [429, 202, 404]
    assert failure.value.permanent and "T3amsS1gnatur3x" not in str(failure.value)
    assert "workflows" not in str(failure.value)


def test_the_card_stays_within_the_budget_whatever_the_digest_holds() -> None:
    notifier = TeamsConfig.model_validate({"webhook_url": "https://example.com/w"}).create("t")

    for context in (many(400), sample_context(NOW, ZONE, hostile=True), many(0)):
        assert len(json_bytes(notifier.render(context))) <= 24_000


def test_doctor_is_told_a_workflow_cannot_be_checked_without_posting() -> None:
    probe = TeamsConfig.model_validate({"webhook_url": "https://example.com/w"}).create("t").probe()

    assert not probe.tested and "test-notify t" in probe.detail
