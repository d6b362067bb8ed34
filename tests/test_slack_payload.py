"""The Block Kit payload check: every message cbsalert renders stays within Slack's limits,
and a run's message is one message up to ``max_alerts`` entries. The messages are the
demo's real ones (``devtools.demo_messages``: a small digest, new/reminder/resolved, 300
alerts) and the hostile samples ``cbsalert validate`` renders."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cbsalert.devtools import blockkit
from cbsalert.devtools.demo_messages import demo_contexts, large_context
from cbsalert.devtools.slack import SlackSink
from cbsalert.notify import MessageContext
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_blocks import DIVIDER, context, section
from cbsalert.notify.testmsg import _contexts

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


def render(ctx: MessageContext) -> list[dict[str, Any]]:
    notifier = SlackConfig(webhook_url="https://hooks.slack.com/services/T/B/X").create("ops")
    payloads: list[dict[str, Any]] = notifier.render(ctx)
    return payloads


def ok(blocks: list[dict[str, Any]], text: str = "🔴 acme (Files): failed") -> dict[str, Any]:
    return {"text": text, "blocks": blocks}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (ok([section("x")] * 51), "51 blocks (at most 50)"),
        (ok([section("x" * 3001)]), "block 1: text of 3001 characters (at most 3000)"),
        (ok([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]),
         "block 1: text of 151 characters (at most 150)"),
        (ok([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]),
         "block 1: its text must be a plain_text text object"),
        (ok([section("")]), "block 1: empty text"),
        (ok([context("x")] * 1, text=""), "no fallback text: the notification would be empty"),
        (ok([DIVIDER], text="x" * 4001), "fallback text of 4001 characters (at most 4000)"),
        (ok([section("x" * 2900)] * 4), "characters of blocks (at most 10000)"),
        (ok([{"type": "image"}]), "block 1: not a block this message uses"),
    ],
)  # fmt: skip
def test_the_check_finds_what_slack_would_refuse(payload: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in blockkit.problems(payload)), blockkit.problems(payload)


def test_the_check_passes_a_message_within_the_limits() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 150}}
    blocks = [header, context("y"), DIVIDER, *[section("z" * 100)] * 46]
    assert blockkit.problems(ok(blocks, "t" * 4000)) == []


@pytest.fixture(scope="module")
def demo() -> dict[str, MessageContext]:
    return demo_contexts()


@pytest.mark.parametrize("name", ["small", "mixed", "large"])
def test_the_demos_real_messages_are_one_message_each_within_the_limits(
    name: str, demo: dict[str, MessageContext]
) -> None:
    [payload] = render(demo[name])

    assert blockkit.problems(payload) == []


def test_the_large_demo_lists_max_alerts_entries_in_one_message_and_the_rest_by_name(
    demo: dict[str, MessageContext],
) -> None:
    large = demo["large"]
    [payload] = render(large)

    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    listed = set(re.findall(r"customer-\d{3}", "\n".join(texts[2:-1])))
    assert listed == {a["login"] for a in large["alerts"]} and len(listed) == 200
    left = large["run"]["summary"]["left_out"]["logins"]
    assert texts[-1].startswith("*100 more not listed here*")
    assert set(re.findall(r"customer-\d{3}", texts[-1])) == set(left)


@pytest.mark.parametrize("label", list(_contexts(NOW, "Europe/Amsterdam")))
def test_every_sample_message_validate_renders_is_within_the_limits(label: str) -> None:
    payloads = render(_contexts(NOW, "Europe/Amsterdam")[label])

    assert len(payloads) == 1
    assert all(blockkit.problems(p) == [] for p in payloads)


def test_max_alerts_entries_of_long_names_are_still_one_message() -> None:
    context_ = large_context(count=400, limit=200)
    for alert in context_["alerts"]:
        alert["login"] = alert["login"] + "-" + "long-customer-name" * 3
        alert["backup_set_name"] = "A rather long backup set name " + alert["backup_set_name"]

    payloads = render(context_)

    assert len(payloads) == 1 and blockkit.problems(payloads[0]) == []


def test_the_slack_stand_in_refuses_a_message_beyond_the_limits_as_slack_does() -> None:
    with SlackSink() as sink:
        answer = httpx.post(sink.url, json=ok([section("x" * 3001)]))
        good = httpx.post(sink.url, json=ok([section("x")]))

    assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    assert good.status_code == 200 and len(sink.messages) == 1
