"""Characters from outside (the CBS, a server's answer) that must never act on a reader.

A set name or an error message may hold control characters (a newline that starts a forged
log line, ESC sequences that drive a terminal, NUL that ends a C string) and Unicode bidi
controls (an override that makes ``exe.txt`` read as ``txt.exe``). Two treatments, one
character class:

* ``escape_controls``: made visible (``\\n``, ``\\x1b``, ``\\u202e``), for logs, where the
  exact value matters to whoever investigates;
* ``strip_controls``: gone, whitespace among them turned into a space, for mail headers and
  Slack text, which a person reads and a mail client or Slack would act on (``one_line``
  also folds the whitespace).

``records.py`` replaces them by U+FFFD where CBS records are parsed, with the same class.
"""

from __future__ import annotations

import re

# The one class of characters that must not act on a reader: C0/C1 controls and DEL; soft
# hyphen; Arabic/Syriac/Mongolian format marks; zero-width and bidi marks, embeddings,
# overrides and isolates (U+061C, U+200B-F, U+202A-E, U+2066-F); the line and paragraph
# separators, which some terminals and log viewers break lines on; BOM; interlinear
# annotation; lone surrogates (no UTF-8 encoding exists: a database refuses them); Unicode
# tag characters. ``UNSAFE_CHARS`` is its body, for a caller that adds characters of its own.
UNSAFE_CHARS = (
    "\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` on one line with every control and bidi character shown as an escape."""
    return _UNSAFE.sub(_visible, text)


def strip_controls(text: str) -> str:
    """``text`` without control or bidi characters; whitespace controls become a space."""
    return _UNSAFE.sub(lambda m: " " if m.group().isspace() else "", text)


def one_line(text: str) -> str:
    """``strip_controls`` with every run of whitespace folded into one space: one line of
    text to store or show, whatever the CBS put in it."""
    return " ".join(strip_controls(text).split())
