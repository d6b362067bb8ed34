"""The service's HTTP surface: a WSGI app served by waitress, with its resources bounded.

Whatever clients of the metrics port do, the scheduled checks must keep their file
descriptors and threads. Python's ``ThreadingHTTPServer`` (used here before) gives every
connection a thread and a descriptor for as long as the client likes: 1,025 half-sent
requests left every run failing with "Too many open files". waitress bounds exactly that:

* at most ``connection_limit`` open connections: beyond it waitress stops accepting, and
  further clients wait in the kernel's listen queue (``BACKLOG``), then are refused there;
* a connection with no complete request and no traffic for ``idle_timeout_s`` is closed,
  whether it never finished its request or idles between keep-alive requests;
* requests are answered by ``THREADS`` worker threads, whatever the number of clients;
* ``poll()``, not ``select()``: descriptors above 1024 (a ``LimitNOFILE`` raised by the
  operator) work.

A garbage request gets waitress's 4xx answer and one log line through ``logging`` (so JSON
under ``--log-format json``); a client that resets its connection is not an event.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask
from waitress.trigger import trigger

log = logging.getLogger(__name__)

CONNECTION_LIMIT = 20
IDLE_TIMEOUT_S = 10.0
BACKLOG = 64
THREADS = 2
MAX_HEADER_BYTES = 16 * 1024  # a scrape sends a few hundred bytes
STOP_TIMEOUT_S = 5.0


class _LoggedErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress's error answer, logged as one line first when the client sent garbage
    (400, 413, 431, ...). A 500 is an exception in the app, which waitress logs itself."""

    def execute(self) -> None:
        error = self.request.error
        if 400 <= error.code < 500:
            addr = self.channel.addr
            log.info(
                "%s: bad request from %s answered %d %s",
                self.channel.server.adj.ident, addr[0] if isinstance(addr, tuple) else addr,
                error.code, error.reason,
            )  # fmt: skip
        try:
            super().execute()
        except ClientDisconnected:
            # The client left before its error answer was written: nothing more to say. Let
            # through, it reaches waitress's own handler, which then fails on the error
            # request's missing ``path`` and logs a traceback.
            self.close_on_finish = True


class _Channel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _LoggedErrorTask


class BoundedServer:
    """Serve ``app`` on ``host:port`` from a background thread until ``stop()``."""

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        name: str,
        connection_limit: int = CONNECTION_LIMIT,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        # Our own socket map: the server, its listeners and every channel live in it, and
        # closing everything in it (from the loop's thread) is how the loop ends.
        self._map: dict[int, Any] = {}
        self.connection_limit = connection_limit
        self.idle_timeout_s = idle_timeout_s
        self._server = create_server(
            app,
            map=self._map,
            host=host,
            port=port,
            ident=name,
            threads=THREADS,
            backlog=BACKLOG,
            connection_limit=connection_limit,
            # waitress reads these three as whole seconds (int()): a fraction such as 0.25
            # became a poll timeout of 0, a loop spinning at 100% CPU.
            channel_timeout=max(round(idle_timeout_s), 1),
            cleanup_interval=max(round(idle_timeout_s / 2), 1),
            asyncore_loop_timeout=1,
            asyncore_use_poll=True,
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=MAX_HEADER_BYTES,
            log_socket_errors=False,
            expose_tracebacks=False,
        )
        listeners = [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]
        for listener in listeners:
            listener.channel_class = _Channel
        self.address: tuple[str, int] = (
            str(listeners[0].effective_host),
            int(listeners[0].effective_port),
        )
        self._wake = trigger(self._map)
        # waitress counts its listeners and wake-up pipes among the connections.
        self._server.adj.connection_limit = connection_limit + len(self._map)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self) -> BoundedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listeners, and end the threads."""
        if self._thread.is_alive():
            self._wake.pull_trigger(lambda: wasyncore.close_all(self._map, ignore_all=True))
            self._thread.join(STOP_TIMEOUT_S)
        else:
            wasyncore.close_all(self._map, ignore_all=True)
        self._server.task_dispatcher.shutdown(timeout=STOP_TIMEOUT_S)
