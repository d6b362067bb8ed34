"""Local stand-ins for Slack and an SMTP server, for the tests and the demo.

Both are real servers on 127.0.0.1 with a free port, run from a background thread and used
as context managers. They record what arrives, so a test (or a person running the demo) can
see the exact Slack payload and email that cbsalert would send, and they can be told to
fail the way the real services do.

* ``SlackSink`` answers as an incoming webhook (POST to any path outside ``/api/``: ``ok``)
  and as the Web API (POST ``/api/chat.postMessage`` and ``/api/auth.test`` with a Bearer
  token).
* ``SmtpSink`` is an aiosmtpd server that can refuse recipients, require AUTH, fail DATA,
  and speak STARTTLS or implicit TLS with a self-signed certificate made by ``openssl``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cbsalert.httpserve import QuietHandler

SlackFault = Literal[
    "ratelimit", "server_error", "no_service", "invalid_auth", "channel_not_found", "hang"
]

# (webhook status, webhook body, Web API status, Web API error) for each fault, as Slack
# answers them; "hang" is handled apart.
_FAULTS: dict[str, tuple[int, str, int, str]] = {
    "ratelimit": (429, "rate_limited", 429, "ratelimited"),
    "server_error": (500, "rollup_error", 500, "internal_error"),
    "no_service": (404, "no_service", 404, "no_service"),
    "invalid_auth": (403, "invalid_token", 200, "invalid_auth"),
    "channel_not_found": (404, "channel_not_found", 200, "channel_not_found"),
}


@dataclass(frozen=True)
class SlackRequest:
    """One request the sink received, and the status it answered."""

    kind: Literal["webhook", "api"]
    path: str
    payload: dict[str, Any]
    authorization: str | None
    status: int
    ok: bool


class SlackSink:
    """A webhook and Web API stand-in; ``messages`` holds the payloads it accepted.
    ``port`` 0 (the default) takes a free one."""

    def __init__(
        self,
        *,
        token: str | None = None,
        retry_after: int = 1,
        hang_s: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.requests: list[SlackRequest] = []
        self._faults: list[SlackFault | None] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """An incoming-webhook URL (its path is the secret part, as on Slack)."""
        return f"{self.base_url}/services/T0000TEST/B0000TEST/s3cr3tW3bh00kP4th"

    @property
    def api_base_url(self) -> str:
        """What ``SlackConfig.base_url`` takes (slack-sdk wants the trailing ``/api/``)."""
        return f"{self.base_url}/api/"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages posted and accepted (webhook or chat.postMessage; not auth.test)."""
        with self._lock:
            return [
                r.payload
                for r in self.requests
                if r.ok and (r.kind == "webhook" or r.path.startswith("/api/chat.postMessage"))
            ]

    def fail_next(self, fault: SlackFault, count: int = 1, *, after: int = 0) -> None:
        """Answer ``count`` requests with ``fault``, after letting ``after`` ones succeed."""
        with self._lock:
            self._faults.extend([None] * after + [fault] * count)

    def start(self) -> SlackSink:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take_fault(self) -> SlackFault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _answer(
        self, kind: Literal["webhook", "api"], path: str, payload: dict[str, Any], auth: str | None
    ) -> tuple[int, str, dict[str, str]]:
        """Status, body and headers for one request; records it."""
        fault = self._take_fault()
        headers: dict[str, str] = {}
        if fault == "hang":
            self._stopping.wait(self.hang_s)
            fault = None
        if fault is not None:
            hook_status, hook_body, api_status, api_error = _FAULTS[fault]
            if fault == "ratelimit":
                headers["Retry-After"] = str(self.retry_after)
            status = hook_status if kind == "webhook" else api_status
            body = hook_body if kind == "webhook" else json.dumps({"ok": False, "error": api_error})
        elif kind == "webhook":
            status, body = 200, "ok"
        else:
            status, body = 200, self._api(path, payload, auth)
        ok = status == 200 and (kind == "webhook" or json.loads(body).get("ok") is True)
        with self._lock:
            self.requests.append(SlackRequest(kind, path, payload, auth, status, ok))
        return status, body, headers

    def _api(self, path: str, payload: dict[str, Any], auth: str | None) -> str:
        method = path.removeprefix("/api/").split("?")[0]
        if not auth or not auth.startswith("Bearer "):
            return json.dumps({"ok": False, "error": "not_authed"})
        if self.token is not None and auth != f"Bearer {self.token}":
            return json.dumps({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage":
            if not payload.get("channel"):
                return json.dumps({"ok": False, "error": "channel_not_found"})
            ts = f"{time.time():.6f}"
            return json.dumps({"ok": True, "channel": payload["channel"], "ts": ts})
        if method == "auth.test":
            # As https://docs.slack.dev/reference/methods/auth.test answers a bot token.
            return json.dumps(
                {"ok": True, "url": "https://cbsalert-test.slack.com/", "team": "cbsalert-test",
                 "user": "cbsalert", "team_id": "T0000TEST", "user_id": "U0000TEST",
                 "bot_id": "B0000TEST", "is_enterprise_install": False}
            )  # fmt: skip
        return json.dumps({"ok": False, "error": "unknown_method"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = _parse_body(raw, self.headers.get("Content-Type") or "")
                kind: Literal["webhook", "api"] = (
                    "api" if self.path.startswith("/api/") else "webhook"
                )
                auth = self.headers.get("Authorization")
                status, body, headers = sink._answer(kind, self.path, payload, auth)
                content_type = "application/json" if kind == "api" else "text/html"
                self.send_body(status, body.encode(), f"{content_type}; charset=utf-8", headers)

        return Handler


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type:
        form: dict[str, Any] = {k: v[0] for k, v in parse_qs(text).items()}
        for key in ("blocks", "attachments"):
            if isinstance(form.get(key), str):
                form[key] = json.loads(form[key])
        return form
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {"_raw": text}
    return data if isinstance(data, dict) else {"_raw": data}


# -- SMTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class _SmtpHandler:
    refuse: set[str]
    fail_data: str | None
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_data is not None:
            return self.fail_data
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Message accepted"


class _Controller(Controller):
    """aiosmtpd's Controller with port 0: it learns the real port before its self-check."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpSink:
    """An SMTP server on 127.0.0.1; ``messages`` holds what it accepted.

    ``refuse``: recipients answered with 550. ``auth``: (user, password) that AUTH must
    give. ``tls``: ``starttls`` or ``ssl`` (implicit TLS) with a fresh self-signed
    certificate; ``cert_file`` is then the file to trust (``EmailConfig.ca_bundle``).
    ``fail_data``: a reply such as ``451 4.3.0 Try again later`` to answer every DATA with.
    ``port``: 0 (the default) takes a free one; ``cbsalert sinks`` passes a fixed one.
    """

    def __init__(
        self,
        *,
        refuse: Iterable[str] = (),
        auth: tuple[str, str] | None = None,
        tls: Literal["none", "starttls", "ssl"] = "none",
        fail_data: str | None = None,
        port: int = 0,
    ) -> None:
        self._handler = _SmtpHandler({r.lower() for r in refuse}, fail_data)
        self._dir = tempfile.TemporaryDirectory(prefix="cbsalert-smtp-")
        self.cert_file: str | None = None
        kwargs: dict[str, Any] = {}
        if tls != "none":
            import ssl

            cert, key = self_signed_cert(Path(self._dir.name))
            self.cert_file = str(cert)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            kwargs["ssl_context" if tls == "ssl" else "tls_context"] = context
            if tls == "starttls":
                kwargs["require_starttls"] = True
        if auth is not None:
            login, password = auth[0].encode(), auth[1].encode()

            def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
                good = isinstance(data, LoginPassword) and (data.login, data.password) == (
                    login,
                    password,
                )
                return AuthResult(success=good, handled=False)

            kwargs.update(authenticator=check, auth_required=True)
            kwargs["auth_require_tls"] = tls == "starttls"
            # aiosmtpd warns (rightly, for a real server) about AUTH without TLS and about
            # its own deprecated login_data; a local test sink need not say so each time.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            logging.getLogger("mail.log").setLevel(logging.ERROR)
        self._controller = _Controller(self._handler, hostname="127.0.0.1", port=port, **kwargs)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """The parsed messages accepted, in order."""
        return [mail.message for mail in self._handler.received]

    @property
    def received(self) -> list[ReceivedMail]:
        """The same with their envelopes (MAIL FROM and RCPT TO)."""
        return list(self._handler.received)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
        self._dir.cleanup()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def closed_port() -> int:
        """A port on 127.0.0.1 where nothing listens (connections are refused)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, made by the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert),
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
