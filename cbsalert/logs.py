"""Logging: one line per event (or JSON for log shippers), secrets always redacted.

Logged values come from outside (a CBS error message, a set name, a server's answer) and
may hold a newline that would start a forged line ("run 12 finished: checked 40/40
users"), terminal escapes or bidi overrides. The formatters deal with that once, for every
record of every logger, instead of each call site:

* text: control and bidi characters in the message are shown as escapes (``\\n``,
  ``\\x1b``), and a traceback's lines are indented, so only a record starts a line;
* JSON: one object per line (``json.dumps`` escapes every control character), a traceback
  is its ``traceback`` field;
* both: every known secret is replaced by ``***``, and so is the ``user:password@`` of any
  URL.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cbsalert.errors import redact, redact_userinfo
from cbsalert.safetext import escape_controls

_SECRETS: set[str] = set()
TRACEBACK_INDENT = "    "


def _clean(text: str) -> str:
    return redact_userinfo(redact(text, tuple(sorted(_SECRETS))))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message``, one line; a traceback follows, indented."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(_clean(record.getMessage()))
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        for extra in _details(self, record).values():
            line += "".join(
                f"\n{TRACEBACK_INDENT}{escape_controls(part)}" for part in extra.splitlines()
            )
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _clean(record.getMessage()),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update({k: _clean(v) if isinstance(v, str) else v for k, v in extra.items()})
        entry.update(_details(self, record))
        return json.dumps(entry, default=str)


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, str]:
    """The record's traceback and stack, redacted, by JSON field name."""
    details = {}
    if record.exc_info:
        details["traceback"] = _clean(formatter.formatException(record.exc_info))
    if record.stack_info:
        details["stack"] = _clean(formatter.formatStack(record.stack_info))
    return details


def setup_logging(
    level: int | None = None, fmt: str | None = None, secrets: Iterable[str] = ()
) -> None:
    """Configure the root logger once; later calls may change level/format or add secrets."""
    _SECRETS.update(s for s in secrets if s)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_cbsalert", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._cbsalert = True  # type: ignore[attr-defined]
        handler.setFormatter(TextFormatter())
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    if level is not None:
        root.setLevel(level)
    # httpx logs every request at INFO; that is noise for us (and names URLs).
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("httpcore").setLevel(max(root.level, logging.WARNING))
