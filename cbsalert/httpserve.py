"""The one way our small loopback HTTP stand-ins answer (simulator, sinks); the service's own
HTTP surface is cbsalert.webserver, which bounds what clients can take."""

from __future__ import annotations

from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """A thread per connection, and a listen queue as deep as the kernel allows.

    The standard backlog of 5 is too shallow for a client that opens its lanes at once (the
    CBS client opens up to ``cbs.max_concurrency``): while the server thread is busy, the
    kernel drops the SYNs that do not fit, and each of those clients waits a whole second
    for the retransmission. The kernel caps the value at ``net.core.somaxconn``.
    """

    daemon_threads = True
    request_queue_size = 1024


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
