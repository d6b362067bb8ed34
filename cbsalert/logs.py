"""Logging: one readable line per event (or JSON for log shippers), secrets always redacted."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from cbsalert.errors import redact

_SECRETS: set[str] = set()


class RedactingFilter(logging.Filter):
    """Replaces every known secret in a record's final message by ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            message = record.getMessage()
            cleaned = redact(message, tuple(_SECRETS))
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        return json.dumps(entry, default=str)


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
        handler.addFilter(RedactingFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    if level is not None:
        root.setLevel(level)
    # httpx logs every request at INFO; that is noise for us (and names URLs).
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("httpcore").setLevel(max(root.level, logging.WARNING))
