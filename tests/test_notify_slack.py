"""The Slack notifier against SlackSink, a real HTTP server standing in for Slack."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.devtools import blockkit
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import DeliveryError
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext, Parts, build_context, digest
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_text import escape_mrkdwn
from cbsalert.notify.testmsg import sample_context

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
TOKEN = "xoxb-1234-S3cretT0ken"
BIG = 2000  # entries more than one Slack message holds even as a list of names (3 parts)


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    with SlackSink(token=TOKEN, hang_s=3) as server:
        yield server


def webhook(sink: SlackSink, **extra: Any) -> Any:
    return SlackConfig(webhook_url=sink.url, timeout_s=1, **extra).create("ops-slack")


def web_api(sink: SlackSink, token: str = TOKEN, **extra: Any) -> Any:
    config = SlackConfig(
        token=token, channel="#backups", base_url=sink.api_base_url, timeout_s=1, **extra
    )
    return config.create("ops-api")


def context_with(count: int, limit: int | None = None) -> MessageContext:
    """``count`` failed backups of users user-000, user-001, ..."""
    day = date(2026, 11, 22)
    start = datetime(2026, 11, 22, 22, 15, tzinfo=ZoneInfo(ZONE))
    events = []
    for i in range(count):
        finding = Finding(
            rule="backup-failed", kind="backup_status", severity="critical", firing=True,
            login=f"user-{i:03d}", day=day, backup_set_id=f"set{i}",
            backup_set_name=f"Documents of user {i}", job_id="2026-11-22-22-15-00",
            status="BS_STOP_BY_SYSTEM_ERROR", start_time=start,
            end_time=start + timedelta(minutes=30), errors=3, warnings=1,
            summary=f"Backup of 'Documents of user {i}' failed with BS_STOP_BY_SYSTEM_ERROR.",
        )  # fmt: skip
        events.append(AlertEvent(finding, "new"))
    return build_context(day, ZONE, events, NOW, limit=limit)


def sections(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def test_webhook_delivers_the_headline_a_summary_and_one_section_per_entry(sink: SlackSink) -> None:
    context = sample_context(NOW, ZONE)
    webhook(sink).send(context)

    [payload] = sink.messages
    headline = digest.message(context)["headline"]
    assert payload["text"] == escape_mrkdwn(headline)  # what the phone's notification shows
    assert payload["blocks"][0]["text"]["text"] == f"*{escape_mrkdwn(headline)}*"
    assert headline.startswith("🔴 5 critical — CBS backup.example.com, example-laptop +3 · 4 warn")
    texts = sections(payload)
    failed = next(t for t in texts if "BS_STOP_BY_SYSTEM_ERROR" in t)
    assert failed.startswith(
        "*example-user* · Example Owner\n*Documents (daily)\u200b* · destination Offsite S3\n"
    )
    assert "🔴 Critical · new — Backup of 'Documents (daily)' stopped by a system error" in failed
    assert "Job ran 2026-11-22 22:15\u201323:40 CET · 12 errors · 3 warnings" in failed
    [resolved] = [t for t in texts if "Finance" in t]
    assert resolved.startswith("✅ *example-office*") and "resolved" in resolved


def test_web_api_posts_to_the_channel_with_the_bearer_token(sink: SlackSink) -> None:
    web_api(sink).send(sample_context(NOW, ZONE))

    [request] = [r for r in sink.requests if r.ok]
    assert request.kind == "api" and request.path == "/api/chat.postMessage"
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.payload["channel"] == "#backups"
    assert request.payload["text"].startswith("🔴 5 critical")
    assert request.payload["blocks"][0]["text"]["text"].startswith("*🔴 5 critical")


def test_a_message_says_when_the_jobs_ran_with_their_zone(sink: SlackSink) -> None:
    webhook(sink).send(sample_context(NOW, ZONE))

    [payload] = sink.messages
    [small] = [b["elements"][0]["text"] for b in payload["blocks"] if b["type"] == "context"]
    assert "checked 2026-11-23 07:00 CET" in small
    restore = next(t for t in sections(payload) if "Restore from" in t)
    assert "ran 2026-11-22 16:15\u201316:25 CET" in restore


def test_rate_limit_is_honoured_then_the_message_goes_through(sink: SlackSink) -> None:
    sink.fail_next("ratelimit")
    started = time.monotonic()

    webhook(sink).send(context_with(2))

    assert time.monotonic() - started >= 1.0  # waited for Retry-After: 1
    assert [r.status for r in sink.requests] == [429, 200]
    assert len(sink.messages) == 1


def test_a_retry_after_beyond_the_cap_fails_transiently_without_waiting() -> None:
    with SlackSink(retry_after=3600) as sink:
        sink.fail_next("ratelimit")
        with pytest.raises(DeliveryError) as caught:
            webhook(sink).send(context_with(1))

    assert not caught.value.permanent
    assert "429" in str(caught.value) and "rate limited" in str(caught.value)
    assert len(sink.requests) == 1


def test_one_server_error_is_retried_and_succeeds(sink: SlackSink) -> None:
    sink.fail_next("server_error")

    web_api(sink).send(context_with(1))

    assert [r.status for r in sink.requests] == [500, 200]


def test_server_errors_fail_transiently_after_bounded_retries(sink: SlackSink) -> None:
    sink.fail_next("server_error", count=10)

    with pytest.raises(DeliveryError) as caught:
        webhook(sink).send(context_with(1))

    assert not caught.value.permanent
    assert "HTTP 500" in str(caught.value)
    assert sink.url.split("/services/")[1] not in str(caught.value)
    assert len(sink.requests) == 3  # the first try and two retries, no more


def test_a_removed_webhook_is_a_permanent_failure(sink: SlackSink) -> None:
    sink.fail_next("no_service")

    with pytest.raises(DeliveryError) as caught:
        webhook(sink).send(context_with(1))

    assert caught.value.permanent
    assert "no_service" in str(caught.value)
    assert len(sink.requests) == 1


@pytest.mark.parametrize("fault", ["invalid_auth", "channel_not_found", "no_service"])
def test_web_api_errors_that_retrying_cannot_fix_are_permanent(sink: SlackSink, fault: Any) -> None:
    sink.fail_next(fault)

    with pytest.raises(DeliveryError) as caught:
        web_api(sink).send(context_with(1))

    assert caught.value.permanent
    assert fault in str(caught.value)


def test_a_wrong_token_is_refused_as_invalid_auth(sink: SlackSink) -> None:
    with pytest.raises(DeliveryError) as caught:
        web_api(sink, token="xoxb-wrong-T0ken").send(context_with(1))

    assert caught.value.permanent and "invalid_auth" in str(caught.value)
    assert "xoxb-wrong-T0ken" not in str(caught.value)


def test_a_hanging_slack_times_out_as_a_transient_failure(sink: SlackSink) -> None:
    sink.fail_next("hang")

    with pytest.raises(DeliveryError) as caught:
        webhook(sink).send(context_with(1))

    assert not caught.value.permanent
    assert "timed out" in str(caught.value)
    assert sink.url.split("/services/")[1] not in str(caught.value)


def test_an_unreachable_slack_is_transient_and_the_webhook_path_stays_secret() -> None:
    url = f"http://127.0.0.1:{SmtpSink.closed_port()}/services/T1/B1/hidden-path-S3cret"
    notifier = SlackConfig(webhook_url=url, timeout_s=1).create("ops-slack")

    with pytest.raises(DeliveryError) as caught:
        notifier.send(context_with(1))

    assert not caught.value.permanent
    assert "refused" in str(caught.value).lower()
    assert "hidden-path-S3cret" not in str(caught.value)
    assert "/services" not in str(caught.value)


@pytest.mark.parametrize("fault", ["no_service", "ratelimit"])
def test_secrets_never_reach_errors_or_logs(fault: Any, caplog: pytest.LogCaptureFixture) -> None:
    # Even with slack-sdk's own logger turned up to DEBUG (it logs URLs and bodies there).
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="cbsalert.notify.slack.sdk")
    with SlackSink(token=TOKEN, retry_after=0) as sink:
        secret_path = sink.url.split("/services/")[1]
        sink.fail_next(fault, count=5)
        sink.fail_next(fault, count=5)
        errors = []
        for notifier in (webhook(sink), web_api(sink)):
            try:
                notifier.send(context_with(1))
            except DeliveryError as exc:
                errors.append(str(exc))

    assert errors
    for text in [*errors, caplog.text]:
        assert secret_path not in text
        assert TOKEN not in text


def test_a_digest_too_big_for_one_message_is_split_and_each_part_says_so_in_words(
    sink: SlackSink,
) -> None:
    webhook(sink).send(context_with(BIG))  # no max_alerts: more than one message can hold

    payloads = sink.messages
    assert len(payloads) == 3
    seen: list[str] = []
    for number, payload in enumerate(payloads, start=1):
        assert blockkit.problems(payload) == []
        assert payload["text"].endswith(f" · part {number} of 3")
        assert payload["blocks"][0]["text"]["text"].endswith(f" · part {number} of 3*")
        seen += re.findall(r"user-\d{3,4}", "\n".join(sections(payload)[1:]))
    assert sorted(set(seen)) == sorted(f"user-{i:03d}" for i in range(BIG))


def test_a_failure_after_some_parts_says_how_many_were_sent(sink: SlackSink) -> None:
    sink.fail_next("no_service", after=1)

    with pytest.raises(DeliveryError) as caught:
        webhook(sink).send(context_with(BIG))

    assert caught.value.permanent
    assert "1 of 3" in str(caught.value) and "were sent before" in str(caught.value)


def test_hostile_data_is_escaped_and_cannot_format_the_message(sink: SlackSink) -> None:
    context = sample_context(NOW, ZONE, hostile=True)
    # The hostile user's alerts alone: few enough to be shown in full, every field of them
    # (all the samples are one line each; test_slack_layout checks every form).
    context["alerts"] = [a for a in context["alerts"] if "channel" in a["login"]]
    webhook(sink).send(context)

    texts = [t for p in sink.messages for t in sections(p)]
    shown = "\n".join(t for t in texts if "channel" in t and "forged" in t and ".pst" in t)
    # The command to copy is inline code on purpose: Slack formats nothing inside it.
    hostile = re.sub(r"\nTo silence it: `[^`]*`", "", shown)
    assert "<" not in hostile and ">" not in hostile.replace("&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    assert "&lt;!channel&gt; &amp; \uff20here" in hostile  # a look-alike @: no mention
    assert "`" not in hostile and "~" not in hostile
    assert "*star*" not in hostile and "_under_" not in hostile
    assert "C:\\Users\\Ann\\Documents\\" in hostile
    # The forged newline stays inside its line; long values end in an ellipsis.
    assert not any(line.startswith("Subject: forged") for line in hostile.splitlines())
    assert "x…" in hostile
    assert all(blockkit.problems(p) == [] for p in sink.messages)


def test_ordinary_names_with_underscores_stay_as_they_are(sink: SlackSink) -> None:
    context = context_with(1)
    context["alerts"][0]["backup_set_name"] = "daily_backup_set"

    webhook(sink).send(context)

    assert "daily_backup_set" in sections(sink.messages[0])[0]


def test_a_user_template_of_the_per_alert_layout_still_renders_each_alert(
    sink: SlackSink, tmp_path: Any
) -> None:
    template = tmp_path / "alert.mrkdwn.j2"
    template.write_text(
        "{{ alert.login|bold }} broke {{ alert.backup_set_name }} (see the report)", "utf-8"
    )
    context = context_with(2)
    context["alerts"].insert(1, dict(context["alerts"][0], rule="errors", severity="warning"))

    webhook(sink, template=str(template)).send(context)

    assert sections(sink.messages[0])[-2:] == [
        "*user-000* broke Documents of user 0 (see the report)\n"
        "*user-000* broke Documents of user 0 (see the report)",
        "*user-001* broke Documents of user 1 (see the report)",
    ]


def test_a_user_template_of_entries_renders_each_entry(sink: SlackSink, tmp_path: Any) -> None:
    template = tmp_path / "entry.mrkdwn.j2"
    template.write_text(
        "{{ entry.login|bold }}: {{ entry.alerts|length }} alert(s)"
        "{% if compact %} (short){% endif %}",
        "utf-8",
    )
    context = context_with(2)
    context["alerts"].insert(1, dict(context["alerts"][0], rule="errors", severity="warning"))

    webhook(sink, template=str(template)).send(context)

    assert sections(sink.messages[0])[-2:] == ["*user-000*: 2 alert(s)", "*user-001*: 1 alert(s)"]


def test_an_old_override_that_includes_the_built_in_alert_template_still_renders(
    sink: SlackSink, tmp_path: Any
) -> None:
    template = tmp_path / "mine.mrkdwn.j2"
    template.write_text('{% include "slack-alert.mrkdwn.j2" %}\n(ours) {{ alert.login }}', "utf-8")

    webhook(sink, template=str(template)).send(sample_context(NOW, ZONE))

    texts = [t for p in sink.messages for t in sections(p)]
    assert any("(ours) example-user" in t and ":bulb:" in t for t in texts)


def test_a_test_message_is_marked_as_such(sink: SlackSink) -> None:
    webhook(sink).send(sample_context(NOW, ZONE, test=True))

    [payload] = sink.messages
    assert "TEST" in payload["blocks"][0]["text"]["text"]
    assert "TEST" in payload["text"]


def test_a_digest_over_max_alerts_is_one_message_that_says_what_it_left_out(
    sink: SlackSink,
) -> None:
    webhook(sink).send(context_with(250, limit=200))

    [post] = sink.messages
    texts = sections(post)
    listed = set(re.findall(r"user-\d{3}", "\n".join(texts[1:-1])))
    assert listed == {f"user-{i:03d}" for i in range(200)}
    assert post["text"].startswith("🔴 250 critical — user-000 (Documents of user 0), user-001")
    assert texts[-1].startswith(
        "*50 more not listed here* (the notifier's max_alerts): 50 critical — 50 failed\n"
        "Users: user-200, user-201,"
    )
    assert "cbsalert alerts" not in json.dumps(post)  # not a command a phone can run


def test_a_retry_resumes_after_the_parts_already_sent(sink: SlackSink) -> None:
    context = context_with(BIG)
    first: list[tuple[int, str]] = []
    sink.fail_next("no_service", after=1)
    with pytest.raises(DeliveryError):
        webhook(sink).send(context, Parts(record=lambda n, key: first.append((n, key))))
    [(sent, key)] = first
    total = len(webhook(sink).render(context))
    assert sent == 1 and total >= 3
    recorded: list[int] = []

    webhook(sink).send(context, Parts(sent, key, lambda n, _key: recorded.append(n)))

    assert len(sink.messages) == total  # part 1 once, then parts 2..total
    assert [m["text"].endswith(f"part {i} of {total}") for i, m in
            enumerate(sink.messages, start=1)] == [True] * total  # fmt: skip
    assert recorded == list(range(2, total + 1))


def test_a_retry_that_renders_other_parts_starts_over_rather_than_skip_any(
    sink: SlackSink, caplog: pytest.LogCaptureFixture
) -> None:
    context = context_with(BIG)
    total = len(webhook(sink).render(context))

    # The attempt that sent part 1 rendered other parts (an older cbsalert, say).
    webhook(sink).send(context, Parts(1, "the fingerprint of other parts"))

    assert len(sink.messages) == total
    assert sink.messages[0]["text"].endswith(f"part 1 of {total}")
    assert "renders differently" in caplog.text
