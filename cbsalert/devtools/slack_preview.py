"""A Slack message as a phone shows it, as an HTML page: for people (the README's
screenshot, ``scripts/screenshots.py``) and for the browser tests, which check that it
reads on a 390-pixel screen without scrolling sideways.

It renders the payloads cbsalert posts (``text`` + ``blocks``): first the notification a
locked phone shows (the fallback ``text``), then the channel with each message's blocks.
Slack's mrkdwn becomes HTML the way Slack shows it: ``*bold*``, ``_italic_``,
``~strike~``, ``code``, ``<url|links>``, ``:emoji:`` codes and the entities ``&amp;``,
``&lt;``, ``&gt;``. Everything else is text: the page escapes it all, so a hostile
payload shows as the characters it holds, never as markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

# The emoji codes cbsalert's templates use, as the characters Slack shows for them (the
# severities are written as characters already: ``labels.SEVERITY_EMOJI``). Another code
# shows as itself.
EMOJI = {"bulb": "\U0001f4a1"}

_LINK = re.compile(r"<([^<>|\n]+)(?:\|([^<>\n]*))?>")
_CODE = re.compile(r"`([^`\n]+)`")
# A span opens after a start, space or punctuation and closes before an end, space or
# punctuation, as in Slack: ``a*b*c`` is no bold, ``daily_backup_set`` no italics.
_SPANS = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
]
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")


def mrkdwn_html(text: str) -> str:
    """Slack mrkdwn as safe HTML."""
    out = []
    position = 0
    for match in _LINK.finditer(text):
        out.append(_formatted(text[position : match.start()]))
        out.append(_link(match.group(1), match.group(2)))
        position = match.end()
    out.append(_formatted(text[position:]))
    return "".join(out)


def _link(target: str, label: str | None) -> str:
    if target.startswith("!") or target.startswith("@") or target.startswith("#"):
        # A mention or a channel: Slack shows it highlighted.
        shown = label or "@" + target.lstrip("!@#").split("^")[0]
        return f'<span class="mention">{_formatted(shown)}</span>'
    url = html.unescape(target)
    shown = _formatted(label) if label else html.escape(url)
    if not re.match(r"https?://", url, re.IGNORECASE):
        return shown
    return f'<a href="{html.escape(url, quote=True)}">{shown}</a>'


def _formatted(text: str) -> str:
    """Text with Slack's entities, code, bold, italics, strikes, emoji and line breaks."""
    pieces = []
    position = 0
    for match in _CODE.finditer(text):
        pieces.append(_spans(text[position : match.start()]))
        pieces.append(f"<code>{_escape(match.group(1))}</code>")
        position = match.end()
    pieces.append(_spans(text[position:]))
    return "".join(pieces).replace("\n", "<br>")


def _spans(text: str) -> str:
    escaped = _escape(text)
    for pattern, tag in _SPANS:
        escaped = pattern.sub(rf"<{tag}>\1</{tag}>", escaped)
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def _escape(text: str) -> str:
    """Slack's entities read as the characters they stand for, then HTML-escaped."""
    return html.escape(html.unescape(text), quote=False)


def block_html(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "divider":
        return '<hr class="divider">'
    if kind == "header":
        return f'<div class="header">{html.escape(str(block["text"]["text"]))}</div>'
    if kind == "context":
        parts = " ".join(_text_html(e) for e in block.get("elements", []))
        return f'<div class="context">{parts}</div>'
    if kind == "section":
        return f'<div class="section">{_text_html(block.get("text") or {})}</div>'
    return f'<div class="section">[{html.escape(str(kind))} block]</div>'


def _text_html(text: dict[str, Any]) -> str:
    value = str(text.get("text", ""))
    if text.get("type") == "mrkdwn":
        return mrkdwn_html(value)
    return html.escape(value).replace("\n", "<br>")


def page(
    payloads: Sequence[dict[str, Any]], *, channel: str = "backups", time: str = "07:00"
) -> str:
    """The notification of the first message, then the channel with every message."""
    notification = (
        '<div class="notification"><div class="app">'
        f'<span class="app-icon">S</span> SLACK <span class="when">now</span></div>'
        f'<div class="title">#{html.escape(channel)} · cbsalert</div>'
        f'<div class="body">{html.escape(str(payloads[0].get("text", "")))}</div></div>'
        if payloads
        else ""
    )
    messages = "".join(
        '<div class="message"><div class="avatar">cb</div><div class="content">'
        f'<div class="sender"><b>cbsalert</b> <span class="badge">APP</span> '
        f'<span class="when">{html.escape(time)}</span></div>'
        + "".join(block_html(b) for b in payload.get("blocks", []))
        + "</div></div>"
        for payload in payloads
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>#{html.escape(channel)}</title><style>{_CSS}</style></head><body>"
        f'<div class="lock">{notification}</div>'
        f'<div class="bar"># {html.escape(channel)}</div>'
        f'<main class="channel">{messages}</main></body></html>'
    )


_CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { font: 15px/1.46 -apple-system, "Segoe UI", "Lato", "Liberation Sans", "DejaVu Sans",
  Arial, sans-serif, "Noto Color Emoji"; color: #1d1c1d; background: #fff;
  overflow-wrap: anywhere; word-break: break-word; }
.lock { background: linear-gradient(160deg, #3b4a6b, #1f2840); padding: 12px 10px; }
.notification { background: rgba(245, 245, 247, 0.93); border-radius: 16px;
  padding: 10px 12px; font-size: 14px; line-height: 1.35; }
.notification .app { font-size: 12px; color: #555; letter-spacing: 0.02em; }
.notification .app-icon { display: inline-block; width: 16px; height: 16px; border-radius: 4px;
  background: #4a154b; color: #fff; font-size: 11px; text-align: center; line-height: 16px; }
.notification .when { float: right; color: #777; }
.notification .title { font-weight: 600; margin-top: 2px; }
.bar { background: #4a154b; color: #fff; font-weight: 700; padding: 10px 14px; font-size: 16px; }
.channel { padding: 6px 0 24px; }
.message { display: flex; gap: 8px; padding: 8px 12px; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 8px; background: #2eb67d;
  color: #fff; font-weight: 700; text-align: center; line-height: 36px; }
.content { flex: 1; min-width: 0; }
.sender { margin-bottom: 2px; }
.sender .badge { font-size: 10px; background: #e8e8e8; color: #616061; padding: 1px 3px;
  border-radius: 3px; vertical-align: 1px; }
.sender .when { color: #616061; font-size: 12px; }
.section { margin: 4px 0; }
.header { font-size: 18px; font-weight: 900; margin: 4px 0; }
.context { color: #616061; font-size: 12.5px; margin: 4px 0; }
.divider { border: 0; border-top: 1px solid #e2e2e2; margin: 10px 0; }
code { font: 12px/1.4 "DejaVu Sans Mono", Menlo, monospace; background: #f6f6f6;
  border: 1px solid #e2e2e2; border-radius: 3px; padding: 0 2px; color: #c01343; }
a { color: #1264a3; text-decoration: none; }
.mention { background: #fdf2cc; color: #1264a3; border-radius: 3px; padding: 0 2px; }
"""
