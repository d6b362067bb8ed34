"""Secrets never reach a log line or a message, however they are spelled there.

Unit tests of ``redact`` / ``redact_url`` on plain strings, and the places where a secret
URL meets the outside: the heartbeat ping (a real redirecting server on loopback) and the
CBS client's TLS warning (through the real log handler).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cbsalert.config import load_config
from cbsalert.devtools.loopback import LoopbackServer, QuietHandler
from cbsalert.errors import redact, redact_url
from cbsalert.fetch import make_client
from cbsalert.logs import setup_logging
from cbsalert.metrics import ping_heartbeat
from tests.conftest import config_dict, write_config

UUID = "5f1b2c3d-heartbeat-uuid"


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("next step", "x", "next step"),  # "ne***t step" would reveal a one-letter password
        ("password x was refused", "x", "password *** was refused"),
        ("login ab:cd@host", "cd", "login ab:***@host"),
        (
            "an 8+ char secret hides anywhere: abcS3cretL0ngXYZ",
            "S3cretL0ng",
            "an 8+ char secret hides anywhere: abc***XYZ",
        ),
        ("no secret at all", "", "no secret at all"),
    ],
)
def test_short_secrets_are_redacted_only_as_whole_tokens(
    text: str, secret: str, expected: str
) -> None:
    assert redact(text, [secret]) == expected


def test_a_secret_url_is_redacted_wherever_its_path_appears() -> None:
    secret = f"http://hc-ping.example.com/{UUID}"
    text = f"GET https://hc-ping.example.com/{UUID}/fail: 404; also {secret}"

    cleaned = redact(text, [secret])

    assert UUID not in cleaned
    assert "https://hc-ping.example.com***/fail" in cleaned


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@cbs.example.com:8443/obs?x=1", "https://***@cbs.example.com:8443/***"),
        ("https://hooks.example.com?token=abc", "https://hooks.example.com/***"),
        ("https://hooks.example.com#frag", "https://hooks.example.com/***"),
        ("http://[::1]:8080/ping/x", "http://[::1]:8080/***"),
        ("https://cbs.example.com/", "https://cbs.example.com/"),
        (
            "see 'https://h.example/p/q' and http://other.example",
            "see 'https://h.example/***' and http://other.example",
        ),
    ],
)
def test_urls_keep_scheme_and_host_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown


class Redirector(LoopbackServer):
    """A heartbeat endpoint that has moved: each ping is redirected to a URL carrying a
    token of its own, where it is refused with 404."""

    def __init__(self) -> None:
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/ping/"):
                    moved = {"Location": f"{outer.base_url}/moved{self.path}?token=t0k3n"}
                    self.send_body(302, b"", "text/plain", moved)
                else:
                    self.send_body(404, b"", "text/plain")

        super().__init__(Handler)


@pytest.fixture
def redirector() -> Iterator[Redirector]:
    with Redirector() as server:
        yield server


def test_a_redirected_heartbeat_that_fails_never_logs_its_urls(
    redirector: Redirector, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{redirector.base_url}/ping/{UUID}"

    with caplog.at_level(logging.WARNING):
        assert ping_heartbeat(url, failed=True, secrets=[url]) is False

    [record] = caplog.records
    message = record.getMessage()
    assert UUID not in message and "t0k3n" not in message and "/moved" not in message
    assert "404" in message and "127.0.0.1" in message


def test_the_tls_warning_never_shows_a_password_in_cbs_url(tmp_path: Path) -> None:
    raw = config_dict("https://admin:pw@127.0.0.1:9", tmp_path)
    raw["cbs"]["verify_tls"] = False
    config = load_config(write_config(tmp_path / "c.yaml", raw))
    setup_logging(level=logging.INFO, secrets=config.secrets())
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_cbsalert", False))
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    handler.setStream(out)

    make_client(config)

    # the client sends the user and password as a header, so the URL is shown without them
    assert "TLS verification of https://127.0.0.1:9 is OFF" in out.getvalue()
    assert "admin" not in out.getvalue() and ":pw" not in out.getvalue()
