"""The Block Kit payload check: every message cbsalert renders stays within Slack's limits,
and a run's message is one message up to ``max_alerts`` entries. The messages are the
demo's real ones (``devtools.demo_messages``: a small digest, new/reminder/resolved, 300
users failing at once) and the samples ``cbsalert validate`` renders, hostile ones too."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cbsalert.devtools import blockkit, demo_messages
from cbsalert.devtools.demo_messages import Delivered
from cbsalert.devtools.slack import SlackSink
from cbsalert.notify.slack_blocks import DIVIDER, context, section
from cbsalert.notify.testmsg import _contexts
from tests.test_slack_layout import context as message_context
from tests.test_slack_layout import event, render

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


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
def demo() -> dict[str, Delivered]:
    return {name: make() for name, make in demo_messages.SCENARIOS.items()}


@pytest.mark.parametrize("name", list(demo_messages.SCENARIOS))
def test_the_demos_real_messages_are_one_message_each_within_the_limits(
    name: str, demo: dict[str, Delivered]
) -> None:
    [payload] = demo[name].slack

    assert blockkit.problems(payload) == []


def test_the_large_demo_lists_max_alerts_entries_in_one_message_and_the_rest_by_name(
    demo: dict[str, Delivered],
) -> None:
    [payload] = demo["many"].slack  # 300 users with a broken set each; max_alerts is 200

    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    listed = set(re.findall(r"customer-\d{4}", "\n".join(texts[2:-1])))
    left = set(re.findall(r"customer-\d{4}", texts[-1]))
    assert len(listed) == 200 and not listed & left
    assert listed | left == {f"customer-{n:04}" for n in range(300)}
    assert texts[-1].startswith("*100 more not listed here*")


SAMPLES = _contexts(NOW, "Europe/Amsterdam", "backup.example.com", "https://backup.example.com/")


@pytest.mark.parametrize("label", list(SAMPLES))
def test_every_sample_message_validate_renders_is_within_the_limits(label: str) -> None:
    payloads = render(copy.deepcopy(SAMPLES[label]))

    assert len(payloads) == 1
    assert all(blockkit.problems(p) == [] for p in payloads)


def test_max_alerts_entries_of_long_names_are_still_one_message() -> None:
    """400 entries of what a bad night brings (failed, missed, errors; new, reminders,
    resolved; three owners), long names, 200 listed."""
    kinds = [("failed", "backup_status", "critical"), ("missed", "missing_backup", "critical"),
             ("errors", "error_count", "warning")]  # fmt: skip
    events = [
        event(
            f"customer-{i:03d}" + "-long-customer-name" * 3,
            *kinds[i // 3 % 3],
            state="resolved" if i % 25 == 0 else ("repeat" if i % 7 == 3 else "new"),
            days=3 if i % 7 == 3 else None,
            owner=("reseller-north", "reseller-south", "")[i % 3],
            set_id=str(i),
            set_name=f"A rather long backup set name {i % 5}",
        )
        for i in range(400)
    ]

    payloads = render(message_context(events, limit=200))

    assert len(payloads) == 1 and blockkit.problems(payloads[0]) == []


def test_the_slack_stand_in_refuses_a_message_beyond_the_limits_as_slack_does() -> None:
    with SlackSink() as sink:
        answer = httpx.post(sink.url, json=ok([section("x" * 3001)]))
        good = httpx.post(sink.url, json=ok([section("x")]))

    assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    assert good.status_code == 200 and len(sink.messages) == 1
