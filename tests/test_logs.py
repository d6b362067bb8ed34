"""What cbsalert's log handler writes: one line per event, whatever the logged values hold.

Each test configures logging as the CLI does (``setup_logging``) and reads what the real
handler writes, text or JSON.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from cbsalert.errors import CbsApiError
from cbsalert.logs import setup_logging

FORGED = "User not found\n12:00:00 INFO cbsalert.scheduler: run 12 finished: checked 40/40 users"
TIMESTAMPED = re.compile(r"^\d\d:\d\d:\d\d ")


def captured(fmt: str | None = None, secrets: tuple[str, ...] = ()) -> io.StringIO:
    """The stream cbsalert's handler writes to, after ``setup_logging`` as the CLI calls it."""
    setup_logging(level=logging.DEBUG, fmt=fmt, secrets=secrets)
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_cbsalert", False))
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def test_a_cbs_message_with_a_newline_cannot_forge_a_text_log_line() -> None:
    out = captured()
    error = CbsApiError("ListBackupSets", FORGED)

    logging.getLogger("cbsalert.fetch").warning("cannot check %s: %s", "acme", error)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "User not found\\n12:00:00 INFO cbsalert.scheduler: run 12 finished" in lines[0]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("nul\x00byte", "nul\\x00byte"),
        ("cr\rover", "cr\\rover"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("line\u2028sep", "line\\u2028sep"),
        ("tab\there", "tab\\there"),
        ("C:\\Users\\Ann", "C:\\Users\\Ann"),
        ("café ✓", "café ✓"),
    ],
)
def test_control_and_bidi_characters_are_shown_as_escapes_in_text_logs(
    raw: str, shown: str
) -> None:
    out = captured()

    logging.getLogger("cbsalert.records").warning("set name %s", raw)

    assert out.getvalue().endswith(f"set name {shown}\n")


def test_json_logs_are_one_line_each_and_keep_the_value_exactly() -> None:
    out = captured("json")

    logging.getLogger("cbsalert.fetch").warning("cannot check %s: %s", "acme", FORGED)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == f"cannot check acme: {FORGED}"
    assert entry["level"] == "warning" and entry["logger"] == "cbsalert.fetch"


def test_a_traceback_cannot_forge_lines_or_show_a_secret() -> None:
    secret = "Sys-S3cret-pw!"
    out = captured(secrets=(secret,))

    try:
        raise RuntimeError(f"{FORGED} with {secret}")
    except RuntimeError:
        logging.getLogger("cbsalert.scheduler").exception("run 3 failed unexpectedly")

    text = out.getvalue()
    lines = text.splitlines()
    assert TIMESTAMPED.match(lines[0]) and "run 3 failed unexpectedly" in lines[0]
    assert len(lines) > 2 and not any(TIMESTAMPED.match(line) for line in lines[1:])
    assert all(line.startswith("    ") for line in lines[1:])  # a record's own lines
    assert "    RuntimeError: User not found" in text
    assert secret not in text


def test_a_traceback_in_json_is_a_field_of_its_one_line() -> None:
    secret = "Sys-S3cret-pw!"
    out = captured("json", secrets=(secret,))

    try:
        raise RuntimeError(f"boom {secret}")
    except RuntimeError:
        logging.getLogger("cbsalert.scheduler").exception("run 3 failed unexpectedly")

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "run 3 failed unexpectedly"
    assert "RuntimeError: boom ***" in entry["traceback"]
    assert secret not in lines[0]


def test_a_password_in_a_url_is_hidden_in_every_log_line() -> None:
    out = captured()

    logging.getLogger("cbsalert.fetch").warning(
        "TLS verification of %s is OFF", "https://admin:hunter2@cbs.example.com:8443"
    )
    logging.getLogger("httpx").warning("POST postgresql+psycopg://cbs:pw@db/cbsalert failed")

    text = out.getvalue()
    assert "hunter2" not in text and "https://***@cbs.example.com:8443" in text
    assert ":pw@" not in text and "postgresql+psycopg://***@db/cbsalert" in text
