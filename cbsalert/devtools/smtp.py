"""A local SMTP server for the tests and the demo: aiosmtpd on loopback, in a background thread.

``SmtpSink`` records what it accepts (parsed, with the envelope), and can refuse recipients,
require AUTH, fail DATA, and speak STARTTLS or implicit TLS with a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cbsalert.devtools.certs import self_signed_cert


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
