"""The one base of the loopback HTTP stand-ins (the simulated CBS, the Slack stand-in).

A real HTTP server on 127.0.0.1 and a free port by default, listening from the moment it is
made (so its URL is known before it serves), served from a background thread when used as a
context manager, or in the foreground by ``cbsalert simulate``. The service's own HTTP
surface is cbsalert.webserver, which bounds what clients can take; these stand-ins serve
tests and a person at a terminal, and trust their clients.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    """A thread per connection, and a listen queue as deep as the kernel allows.

    The standard backlog of 5 is too shallow for a client that opens its lanes at once (the
    CBS client opens up to ``cbs.max_concurrency``): while the server thread is busy, the
    kernel drops the SYNs that do not fit, and each of those clients waits a whole second
    for the retransmission. The kernel caps the value at ``net.core.somaxconn``.
    """

    daemon_threads = True
    request_queue_size = 1024


class LoopbackServer:
    """Serves ``handler`` on ``host:port`` (port 0: a free one).

    ``stopping`` is set when the server stops: a handler that makes its client wait (a hang,
    a drip) waits on it, so no answer outlives the test that asked for it.
    """

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.stopping = threading.Event()
        self._server = _Server((host, port), handler)
        self._serving = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Speak HTTPS with ``context`` (call before serving). The handshakes happen in the
        handler threads, so a client that gives up mid-handshake cannot stall the accepts."""
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )

    def start(self) -> Self:
        """Serve from a background thread."""
        self._serving = True
        # A short poll interval: stop() waits up to one interval, once per test.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C), then call ``stop``."""
        self._serving = True
        self._server.serve_forever()

    def stop(self) -> None:
        self.stopping.set()
        if self._serving:  # shutdown() of a server never served would wait forever
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, no access log (a request is not an event worth a log line)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer in full; a client that already gave up (a timeout test) is not an error."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
