"""Slack's limits on a message, checked as Slack would (``problems``): the payload check of
the tests, and what the Slack stand-in refuses with ``invalid_blocks``, so that no test
passes with a message Slack would have refused.

The limits (https://docs.slack.dev/reference/block-kit/blocks): at most 50 blocks; a
section's text at most 3,000 characters; a header's ``plain_text`` at most 150; a context
at most 10 elements; a fallback ``text`` present (it is what the notification shows) and,
by Slack's guidance for notifications, at most 4,000 characters. And cbsalert's own bound
on the blocks as a whole (``slack_blocks.MESSAGE_BUDGET``), below where chat.postMessage
answers ``msg_blocks_too_long``.
"""

from __future__ import annotations

from typing import Any

from cbsalert.notify.slack_blocks import (
    HEADER_MAX,
    MAX_BLOCKS,
    MESSAGE_BUDGET,
    SECTION_MAX,
    TEXT_MAX,
    size,
)

CONTEXT_ELEMENTS_MAX = 10
KNOWN_BLOCKS = frozenset({"section", "header", "context", "divider"})


def problems(payload: dict[str, Any]) -> list[str]:
    """What Slack would refuse in ``payload`` (``text`` + ``blocks``); empty when none."""
    found = []
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        found.append("no fallback text: the notification would be empty")
    elif len(text) > TEXT_MAX:
        found.append(f"fallback text of {len(text)} characters (at most {TEXT_MAX})")
    blocks = payload.get("blocks")
    if not isinstance(blocks, list):
        return [*found, "blocks is not a list"]
    if len(blocks) > MAX_BLOCKS:
        found.append(f"{len(blocks)} blocks (at most {MAX_BLOCKS})")
    if size(blocks) > MESSAGE_BUDGET:
        found.append(f"{size(blocks)} characters of blocks (at most {MESSAGE_BUDGET})")
    for number, block in enumerate(blocks, start=1):
        found += [f"block {number}: {p}" for p in _block_problems(block)]
    return found


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
        return [f"not a block this message uses: {str(block)[:80]}"]
    kind = block["type"]
    if kind == "section":
        return _text_problems(block.get("text"), SECTION_MAX, ("mrkdwn", "plain_text"))
    if kind == "header":
        return _text_problems(block.get("text"), HEADER_MAX, ("plain_text",))
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
            return [f"a context needs 1 to {CONTEXT_ELEMENTS_MAX} elements"]
        return [p for e in elements for p in _text_problems(e, SECTION_MAX, ("mrkdwn",))]
    return []


def _text_problems(text: Any, limit: int, types: tuple[str, ...]) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in types:
        return [f"its text must be a {' or '.join(types)} text object"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return ["empty text"]
    if len(value) > limit:
        return [f"text of {len(value)} characters (at most {limit})"]
    return []
