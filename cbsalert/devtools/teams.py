"""A loopback stand-in for a Microsoft Teams Workflows webhook.

It takes what the workflow "When a Teams webhook request is received" takes: a message with
Adaptive Card attachments (``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", ...}}]}``),
answering 202 with an empty body as the workflow does; 400 for another shape, 413 for a
body over Teams' 28 KB. Every element of a card's body must be a known element type with
its required text, so that a card Teams could not show fails here rather than in the
workflow's run history.
"""

from __future__ import annotations

from typing import Any

from cbsalert.devtools.receiver import JsonReceiver, Received

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024
ELEMENTS = {"TextBlock", "Container", "ColumnSet", "Column", "FactSet", "Image", "RichTextBlock"}


def card_errors(payload: Any) -> list[str]:
    """Why a workflow would not post ``payload`` as a card (empty: it would)."""
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return ['the body must be {"type": "message", "attachments": [...]}']
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return ["'attachments' must be a non-empty list"]
    errors = []
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_TYPE:
            errors.append(f"an attachment's contentType must be {CARD_TYPE}")
            continue
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            errors.append("an attachment's content must be an AdaptiveCard")
        elif not isinstance(card.get("version"), str):
            errors.append("an AdaptiveCard needs a version")
        else:
            errors += _element_errors(card.get("body"))
    return errors


def _element_errors(elements: Any) -> list[str]:
    if not isinstance(elements, list):
        return ["a card's body (or a Container's items) must be a list"]
    errors = []
    for element in elements:
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in ELEMENTS:
            errors.append(f"unknown element type {kind!r}")
        elif kind == "TextBlock" and not isinstance(element.get("text"), str):
            errors.append("a TextBlock needs its text")
        elif kind == "Container":
            errors += _element_errors(element.get("items"))
    return errors


def _judge(request: Received) -> tuple[int, Any]:
    if len(request.body) > MAX_BYTES:
        return 413, "Request Entity Too Large"
    errors = card_errors(request.payload)
    if errors:
        return 400, {"error": {"code": "InvalidRequestContent", "message": "; ".join(errors)}}
    return 202, ""


def teams_sink(**kwargs: Any) -> JsonReceiver:
    """A Workflows webhook on loopback: POST its ``base_url`` plus any path."""
    return JsonReceiver(_judge, **kwargs)


def card_texts(payload: dict[str, Any]) -> list[str]:
    """Every text a person sees in an accepted payload's cards, in order."""
    texts: list[str] = []

    def walk(elements: list[dict[str, Any]]) -> None:
        for element in elements:
            if element.get("type") == "TextBlock":
                texts.append(element["text"])
            walk(element.get("items") or [])

    for attachment in payload["attachments"]:
        walk(attachment["content"]["body"])
    return texts
