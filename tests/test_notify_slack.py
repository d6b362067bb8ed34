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

from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import DeliveryError
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext, Parts, build_context
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_blocks import MAX_BLOCKS, MESSAGE_BUDGET, SECTION_MAX
from cbsalert.notify.testmsg import sample_context

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
TOKEN = "xoxb-1234-S3cretT0ken"


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


def test_webhook_delivers_header_sections_and_fallback_text(sink: SlackSink) -> None:
    webhook(sink).send(sample_context(NOW, ZONE))

    [payload] = sink.messages
    header = payload["blocks"][0]
    assert header["type"] == "header"
    assert "5 critical, 7 warnings, 1 info, 2 resolved" in header["text"]["text"]
    assert "backups of 2026-11-22" in header["text"]["text"]
    assert payload["text"].startswith("cbsalert — 5 critical")
    texts = sections(payload)
    assert len(texts) == 15
    failed = next(t for t in texts if "BS_STOP_BY_SYSTEM_ERROR" in t)
    assert "*example-user*" in failed and "*Documents (daily)\u200b*" in failed
    assert "The job ran 2026-11-22 22:15\u201323:40 CET" in failed
    assert "12 errors · 3 warnings · destination Offsite S3" in failed
    assert failed.startswith("\U0001f534 Critical *example-user*")
    resolved = next(t for t in texts if "Finance" in t)
    assert resolved.startswith("\u2705 Resolved") and "resolved" in resolved


def test_web_api_posts_to_the_channel_with_the_bearer_token(sink: SlackSink) -> None:
    web_api(sink).send(sample_context(NOW, ZONE))

    [request] = [r for r in sink.requests if r.ok]
    assert request.kind == "api" and request.path == "/api/chat.postMessage"
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.payload["channel"] == "#backups"
    assert request.payload["blocks"][0]["type"] == "header"
    assert request.payload["text"]


def test_a_message_says_when_the_jobs_ran_with_their_zone(sink: SlackSink) -> None:
    webhook(sink).send(sample_context(NOW, ZONE))

    [payload] = sink.messages
    intro = payload["blocks"][1]["elements"][0]["text"]
    assert "checked 2026-11-23 07:00 CET" in intro
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


@pytest.mark.parametrize("compact_over", [20, 1000])
def test_three_hundred_alerts_are_split_into_messages_within_slack_limits(
    sink: SlackSink, compact_over: int
) -> None:
    webhook(sink, compact_over=compact_over).send(context_with(300))

    payloads = sink.messages
    assert len(payloads) > 1
    seen: list[str] = []
    for number, payload in enumerate(payloads, start=1):
        assert len(payload["blocks"]) <= MAX_BLOCKS
        assert len(json.dumps(payload["blocks"], ensure_ascii=False)) <= MESSAGE_BUDGET < 12_000
        assert f"({number}/{len(payloads)})" in payload["blocks"][0]["text"]["text"]
        for text in sections(payload):
            assert len(text) <= SECTION_MAX
            seen.extend(word.strip("*") for word in text.split() if word.startswith("*user-"))
    assert sorted(seen) == [f"user-{i:03d}" for i in range(300)]


def test_a_failure_after_some_parts_says_how_many_were_sent(sink: SlackSink) -> None:
    sink.fail_next("no_service", after=1)

    with pytest.raises(DeliveryError) as caught:
        webhook(sink).send(context_with(300))

    assert caught.value.permanent
    assert "1 of" in str(caught.value) and "were sent before" in str(caught.value)


def test_hostile_data_is_escaped_and_cannot_format_the_message(sink: SlackSink) -> None:
    webhook(sink).send(sample_context(NOW, ZONE, hostile=True))

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
    assert all(len(t) <= SECTION_MAX for t in texts)


def test_ordinary_names_with_underscores_stay_as_they_are(sink: SlackSink) -> None:
    context = context_with(1)
    context["alerts"][0]["backup_set_name"] = "daily_backup_set"

    webhook(sink).send(context)

    assert "daily_backup_set" in sections(sink.messages[0])[0]


def test_a_user_template_renders_each_alert(sink: SlackSink, tmp_path: Any) -> None:
    template = tmp_path / "alert.mrkdwn.j2"
    template.write_text(
        "{{ alert.login|bold }} broke {{ alert.backup_set_name }} (see the report)", "utf-8"
    )

    webhook(sink, template=str(template)).send(context_with(2))

    assert sections(sink.messages[0]) == [
        "*user-000* broke Documents of user 0 (see the report)",
        "*user-001* broke Documents of user 1 (see the report)",
    ]


def test_a_test_message_is_marked_as_such(sink: SlackSink) -> None:
    webhook(sink).send(sample_context(NOW, ZONE, test=True))

    [payload] = sink.messages
    assert "TEST" in payload["blocks"][0]["text"]["text"]
    assert "TEST" in payload["text"]


def test_a_digest_over_max_alerts_lists_the_first_and_counts_the_rest(sink: SlackSink) -> None:
    webhook(sink).send(context_with(250, limit=200))

    posts = sink.messages
    texts = [text for post in posts for text in sections(post)]
    listed = [line for text in texts for line in text.splitlines() if "user-" in line]
    assert len(listed) == 200 and "user-199" in listed[-1]
    assert "250 critical" in posts[0]["blocks"][0]["text"]["text"]  # counts cover them all
    assert texts[-1].startswith("… and 50 more alerts, not listed here")
    assert "`cbsalert alerts`" in texts[-1]
    assert len(posts) < len(context_with(250)["alerts"]) / 50  # a few posts, not dozens


def test_a_retry_resumes_after_the_parts_already_sent(sink: SlackSink) -> None:
    context = context_with(300)
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
    assert [f"({i}/{total})" in m["blocks"][0]["text"]["text"] for i, m in
            enumerate(sink.messages, start=1)] == [True] * total  # fmt: skip
    assert recorded == list(range(2, total + 1))


def test_a_retry_that_renders_other_parts_starts_over_rather_than_skip_any(
    sink: SlackSink, caplog: pytest.LogCaptureFixture
) -> None:
    context = context_with(60)
    keys: list[str] = []
    webhook(sink, compact_over=100).send(context, Parts(record=lambda _n, key: keys.append(key)))
    split_before = len(sink.messages)
    assert split_before >= 2
    posted_before = len(sink.messages)

    # compact_over changed since: the same alerts now fit one message.
    webhook(sink, compact_over=20).send(context, Parts(split_before - 1, keys[-1]))

    new = sink.messages[posted_before:]
    assert len(new) == 1
    listed = [line for text in sections(new[0]) for line in text.splitlines() if "user-" in line]
    assert len(listed) == 60
    assert "renders differently" in caplog.text
