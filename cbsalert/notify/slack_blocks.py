"""Block Kit, within Slack's limits: the blocks a message is made of, packing texts into
sections, and fitting them into one message (or, as a last resort, several).

Slack's limits (https://docs.slack.dev/reference/block-kit/blocks): at most 50 blocks per
message, 3,000 characters per section text, 150 per header; the fallback ``text`` is cut
at 40,000, and Slack's guidance for a notification is 4,000. The blocks of one message are
also limited as a whole, undocumented: chat.postMessage answers ``msg_blocks_too_long``
somewhere above 11,000 characters of text (https://github.com/slackapi/bolt-js/issues/2509,
/issues/2867), so a message keeps within ``MESSAGE_BUDGET`` characters of blocks JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]

MAX_BLOCKS = 50
SECTION_MAX = 3000
HEADER_MAX = 150
TEXT_MAX = 4000
MESSAGE_BUDGET = 10_000  # characters of blocks JSON per message: see the docstring

DIVIDER: Block = {"type": "divider"}


def section(text: str) -> Block:
    # verbatim: Slack links no URL, channel or mention it finds in the text by itself
    # (https://docs.slack.dev/reference/block-kit/composition-objects/text-object).
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def context(text: str) -> Block:
    """Small grey text: what a reader may want, but not first."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def pack(texts: Sequence[str], sep: str = "\n") -> list[str]:
    """Join texts, in order, into as few sections of at most SECTION_MAX characters as
    greedy packing gives; a text alone longer than that is its own section (the caller
    clips texts first)."""
    sections: list[str] = []
    for text in texts:
        if sections and len(sections[-1]) + len(sep) + len(text) <= SECTION_MAX:
            sections[-1] += sep + text
        else:
            sections.append(text)
    return sections


def separated(texts: Sequence[str], room: int) -> list[Block]:
    """One section per text with a divider between each two, in at most ``room`` blocks
    when it can be done: with more texts than that allows, several go into one section (a
    blank line between them) and the dividers fall between the sections. Dividers are
    blocks too, so ``n`` sections take ``2n - 1``."""
    groups = list(texts)
    width = 1
    while 2 * len(groups) - 1 > room and width < len(texts):
        width += 1
        groups = _chunks(texts, width)
    blocks: list[Block] = []
    for text in groups:
        if blocks:
            blocks.append(DIVIDER)
        blocks.append(section(text))
    return blocks


def _chunks(texts: Sequence[str], width: int) -> list[str]:
    """``width`` texts per section, each section kept within SECTION_MAX (packed anew)."""
    out: list[str] = []
    for start in range(0, len(texts), width):
        out.extend(pack(texts[start : start + width], sep="\n\n"))
    return out


def size(blocks: Sequence[Block]) -> int:
    """Characters of the blocks as JSON, as Slack counts them (not bytes)."""
    return len(json.dumps(list(blocks), ensure_ascii=False))


def fits(blocks: Sequence[Block]) -> bool:
    return len(blocks) <= MAX_BLOCKS and size(blocks) <= MESSAGE_BUDGET


def split(
    head: Sequence[Block], later_head: Sequence[Block], body: Sequence[Block],
    tail: Sequence[Block],
) -> list[list[Block]]:  # fmt: skip
    """``body`` spread over as few messages as the limits allow: the first opens with
    ``head``, the others with ``later_head``, the last ends with ``tail``. A body block is
    never cut."""
    parts: list[list[Block]] = [list(head)]
    for block in body:
        if len(parts[-1]) > len(head if len(parts) == 1 else later_head) and not fits(
            [*parts[-1], block]
        ):
            parts.append(list(later_head))
        parts[-1].append(block)
    if not fits([*parts[-1], *tail]):
        parts.append(list(later_head))
    parts[-1].extend(tail)
    return parts
