"""Characters from outside (the CBS, a server's answer) that must never act on a reader.

A set name or an error message may hold control characters (a newline that starts a forged
log line, ESC sequences that drive a terminal, NUL that ends a C string) and Unicode bidi
controls (an override that makes ``exe.txt`` read as ``txt.exe``). Two treatments, one
character class:

* ``escape_controls``: made visible (``\\n``, ``\\x1b``, ``\\u202e``), for logs, where the
  exact value matters to whoever investigates;
* ``strip_controls``: gone, whitespace among them turned into a space, for mail headers and
  Slack text, which a person reads and a mail client or Slack would act on.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls; the bidi embeddings, overrides, isolates and marks
# (U+061C, U+200E/F, U+202A-E, U+2066-9); and the Unicode line and paragraph separators,
# which some terminals and log viewers break lines on.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
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
