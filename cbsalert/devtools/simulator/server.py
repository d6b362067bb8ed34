"""The simulated CBS on the wire: a loopback HTTP server that logs every call and answers it
as the world says (``world.py``), unless a fault is due.

Faults can be injected (latency, a fraction of 500s, timeouts, HTML 502 pages, truncated
JSON, wrong shapes) at random with a seed, or scripted for the next N calls. Every call is
logged without its password so tests can count calls and assert that nothing but the read
operations was ever called.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from cbsalert.cbs import AUTH_SYSTEM_USER, READ_OPERATIONS
from cbsalert.devtools.loopback import LoopbackServer, QuietHandler
from cbsalert.devtools.simulator import users
from cbsalert.devtools.simulator.data import SimData
from cbsalert.devtools.simulator.world import World, error

FaultKind = Literal[
    "500", "502_html", "timeout", "truncated", "data_string", "data_list", "refuse_auth"
]
_PATH = re.compile(r"^/obs/api/json/(?P<v2>2/)?(?P<op>[A-Za-z0-9]+)\.do$")
_SERVED = frozenset((*READ_OPERATIONS, AUTH_SYSTEM_USER))


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    path: str


@dataclass
class _Scripted:
    kind: FaultKind
    count: int
    operation: str | None
    login: str | None


class Simulator(LoopbackServer):
    """Use as a context manager; ``url`` is the base URL to give the client."""

    def __init__(self, data: SimData, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.unexpected: list[Call] = []
        self._scripted: list[_Scripted] = []
        self._world = World(data)
        self._rng = random.Random(data.faults.seed)
        super().__init__(self._handler_class(), host, port)

    # -- control ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def data(self) -> SimData:
        return self._world.data

    def set_data(self, data: SimData) -> None:
        with self._lock:
            self._world = World(data)
            self._rng = random.Random(data.faults.seed)

    def inject(
        self,
        kind: FaultKind,
        count: int = 1,
        operation: str | None = None,
        login: str | None = None,
    ) -> None:
        """Make the next ``count`` matching calls fail with ``kind``."""
        with self._lock:
            self._scripted.append(_Scripted(kind, count, operation, login))

    def count(self, operation: str | None = None) -> int:
        with self._lock:
            return sum(1 for c in self.calls if operation in (None, c.operation))

    # -- seams for tests ------------------------------------------------------------------

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The JSON body the CBS would send for one call (faults aside)."""
        return self._world.answer(operation, params)

    def answer_v1(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """ListUsers on its deprecated unversioned path (``answer`` is the v2 one's)."""
        return self._world.answer(operation, params, v2=False)

    def missing(self, operation: str, *, v2: bool) -> bool:
        """Whether the call's path is one an old server answers with HTTP 404."""
        data = self._world.data
        return (
            operation == "ListUsers"
            and data.missing_path == "404"
            and not users.offers(data, v2=v2)
        )

    def send_raw(self, handler: QuietHandler, operation: str, params: dict[str, Any]) -> bool:
        """A seam for tests' hostile servers (tests/hostile.py): answer one call on the wire
        yourself and return True. The simulator itself always answers like the CBS."""
        return False

    # -- faults ---------------------------------------------------------------------------

    def _take_fault(self, operation: str, login: str) -> FaultKind | None:
        with self._lock:
            for scripted in self._scripted:
                if scripted.operation not in (None, operation):
                    continue
                if scripted.login not in (None, login):
                    continue
                scripted.count -= 1
                if scripted.count <= 0:
                    self._scripted.remove(scripted)
                return scripted.kind
            faults = self._world.data.faults
            roll = self._rng.random()
        for rate, kind in (
            (faults.error_rate, "500"),
            (faults.html_rate, "502_html"),
            (faults.timeout_rate, "timeout"),
            (faults.truncated_rate, "truncated"),
        ):
            if roll < rate:
                return kind  # type: ignore[return-value]
            roll -= rate
        return None

    def _handler_class(self) -> type[QuietHandler]:
        sim = self

        class Handler(QuietHandler):
            # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self.send_body(405, b"Method Not Allowed", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                match = _PATH.match(self.path)
                try:
                    params = json.loads(raw) if raw else {}
                    if not isinstance(params, dict):
                        raise ValueError
                except ValueError:
                    params = {}
                operation = match.group("op") if match else self.path
                call = Call(
                    operation,
                    {k: v for k, v in params.items() if k != "SysPwd"},
                    self.path,
                )
                with sim._lock:
                    sim.calls.append(call)
                    if operation not in _SERVED:
                        sim.unexpected.append(call)
                latency = sim._world.data.latency_ms
                if latency:
                    time.sleep(latency / 1000)
                if match is None:
                    self.send_body(404, b"<html><body>404 Not Found</body></html>", "text/html")
                    return
                if sim.send_raw(self, operation, params):
                    return
                fault = sim._take_fault(operation, str(params.get("LoginName", "")))
                if fault is not None:
                    self._fault(fault)
                    return
                v2 = match.group("v2") is not None
                if sim.missing(operation, v2=v2):
                    self.send_body(404, b"<html><body>404 Not Found</body></html>", "text/html")
                    return
                if operation == "ListUsers" and not v2:
                    answer = sim.answer_v1(operation, params)
                else:
                    answer = sim.answer(operation, params)
                body = json.dumps(answer).encode()
                self.send_body(200, body, "application/json;charset=UTF-8")

            def _fault(self, kind: FaultKind) -> None:
                if kind == "500":
                    self.send_body(
                        500, b'{"Status":"Error","Message":"Internal error"}', "text/plain"
                    )
                elif kind == "502_html":
                    page = (
                        b"<html><head><title>502 Bad Gateway</title></head>"
                        b"<body><h1>502 Bad Gateway</h1></body></html>"
                    )
                    self.send_body(502, page, "text/html")
                elif kind == "timeout":
                    time.sleep(sim._world.data.faults.hang_s)
                    self.send_body(200, b'{"Status":"OK","Data":[]}', "application/json")
                elif kind == "truncated":
                    cut = b'{"Status":"OK","Data":[{"BackupSetName":"v6 Fi'
                    self.send_body(200, cut, "application/json")
                elif kind == "data_string":
                    self.send_body(200, b'{"Status":"OK","Data":"no data"}', "application/json")
                elif kind == "data_list":
                    self.send_body(200, b'{"Status":"OK","Data":[1,2,3]}', "application/json")
                elif kind == "refuse_auth":
                    body = json.dumps(error("Incorrect system username/password", "c")).encode()
                    self.send_body(200, body, "application/json")

        return Handler
