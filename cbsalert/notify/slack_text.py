"""Slack's mrkdwn: escaping data so that it is inert, and the template flavour that does it.

Every ``{{ value }}`` of a Slack template is escaped (``&``, ``<``, ``>`` and the formatting
characters, see ``escape_mrkdwn``), collapsed to one line and clipped to ``VALUE_MAX``
characters by the flavour's ``finalize``. Filters that produce formatting on purpose
(``bold``, ``icon``, ``link``, ``code``) return ``Mrkdwn``, which passes unescaped.
"""

from __future__ import annotations

import re
from typing import Any

from cbsalert.labels import SEVERITY_EMOJI, UNKNOWN_SEVERITY_EMOJI, clip, oneline, severity_key
from cbsalert.render import Flavour
from cbsalert.rules import what_happened
from cbsalert.safetext import strip_controls

VALUE_MAX = 300


class Mrkdwn(str):
    """Slack text that is already escaped or formatted on purpose."""

    __slots__ = ()


# Look-alikes: ASTERISK OPERATOR, MODIFIER LETTER LOW MACRON, TILDE OPERATOR, MODIFIER
# LETTER GRAVE ACCENT.
_MRKDWN_SUBSTITUTES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
# The @ of Slack's special mentions, replaced by FULLWIDTH COMMERCIAL AT.
_MENTION_AT = re.compile(r"@(?=(?:channel|here|everyone|group)\b)", re.IGNORECASE)


def escape_mrkdwn(value: object) -> str:
    """Make data inert in Slack mrkdwn, keeping it readable.

    Control and bidi characters are removed (``strip_controls``). ``&``, ``<`` and ``>``
    become entities (Slack's documented escaping), so ``<!channel>`` is text. Slack has no
    escape for ``*``, ``_``, ``~`` and backticks, so a formatting character that could open
    or close a span (one next to a space, punctuation or the end) is replaced by a
    look-alike character; one between two letters or digits (``daily_backup``) cannot
    format anything in Slack and is kept, so ordinary names stay copyable. The ``@`` of
    ``@channel``, ``@here`` and ``@everyone`` becomes a look-alike too: with the text
    objects' ``verbatim: true`` Slack should not parse them, and this holds even where it
    might (the fallback ``text`` of a message, a Slack-compatible server).
    """
    text = strip_controls(oneline(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MENTION_AT.sub("\uff20", text)
    out = []
    for i, char in enumerate(text):
        if char in _MRKDWN_SUBSTITUTES:
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            if char == "`" or not (before.isalnum() and after.isalnum()):
                char = _MRKDWN_SUBSTITUTES[char]
        out.append(char)
    return "".join(out)


def clip_mrkdwn(text: str, length: int) -> str:
    """Clip escaped Slack text without leaving half an entity (``&am``) at the end."""
    if len(text) <= length:
        return text
    return re.sub(r"&[a-z]*$", "", text[: length - 1]).rstrip() + "…"


def _finalize(value: object) -> object:
    if isinstance(value, Mrkdwn):
        return value
    if value is None:
        return "—"
    return escape_mrkdwn(clip(oneline(value), VALUE_MAX))


def bold(value: object) -> Mrkdwn:
    """Data in bold, escaped (the ``bold`` filter)."""
    text = escape_mrkdwn(clip(value, VALUE_MAX))
    # Slack drops a closing `*` that follows punctuation unless a word boundary is forced.
    guard = "" if text[-1:].isalnum() else "\u200b"
    return Mrkdwn(f"*{text}{guard}*")


def _code(value: object) -> Mrkdwn:
    """Data as inline code, to be copied as it is (a command line): inside back-ticks Slack
    formats nothing, so only ``&``, ``<`` and ``>`` are escaped (as entities, which Slack
    shows as the characters); a back-tick, which would end the span, becomes a look-alike."""
    text = strip_controls(oneline(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Mrkdwn("`" + text.replace("`", _MRKDWN_SUBSTITUTES["`"]) + "`")


def link(url: str, text: str) -> Mrkdwn:
    """``<url|text>``: ``text`` escaped as data (``Mrkdwn``, formatted on purpose, as it
    is); in ``url`` the characters that would end the link (``|``, ``>``) are
    percent-encoded and ``&``, ``<`` written as entities."""
    target = url.replace("|", "%7C").replace(">", "%3E").replace("&", "&amp;").replace("<", "%3C")
    label = text if isinstance(text, Mrkdwn) else escape_mrkdwn(text)
    return Mrkdwn(f"<{target}|{label}>")


def _icon(alert: dict[str, Any]) -> Mrkdwn:
    """The severity's emoji alone (``labels.SEVERITY_EMOJI``); ``badge`` adds the word, which
    colour-blind readers need: the circles differ only in colour."""
    return Mrkdwn(SEVERITY_EMOJI.get(severity_key(alert), UNKNOWN_SEVERITY_EMOJI))


_WEB_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def linked(value: object, url: object = None) -> Mrkdwn:
    """``value`` in bold, as a link to ``url`` when that is an http(s) URL (the CBS console;
    the ``link`` filter): anything else in ``url`` (a message stored by an older version, a
    value a template made up) leaves the name bold and unlinked."""
    text = bold(value)
    return link(url, text) if isinstance(url, str) and _WEB_URL.fullmatch(url) else text


def _what(alert: dict[str, Any]) -> str:
    """What an alert says happened, in the summary's words (``failed``, ``did not run``)."""
    return what_happened(str(alert.get("kind")))


SLACK = Flavour(
    "slack",
    _finalize,
    filters=(
        ("bold", bold),
        ("icon", _icon),
        ("link", linked),
        ("code", _code),
        ("what", _what),
    ),
)
