"""Loopback stand-ins for destinations that take JSON over HTTP (a webhook receiver,
PagerDuty's Events API, a Teams workflow), for the tests and a person trying cbsalert.

``JsonReceiver`` records every POST (path, headers, the exact body, the JSON in it) and
answers it with its ``judge``: a function from the request to a status and a body, which is
where each provider's stand-in says what that provider accepts. ``fail_next`` makes the next
requests fail first, as the provider fails (a 429 with Retry-After, a 500).
``webhook_receiver`` is the generic one: it checks the ``X-Cbsalert-Signature`` of each
body as a receiver should.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cbsalert.devtools.loopback import LoopbackServer, QuietHandler


@dataclass(frozen=True)
class Received:
    """One POST as it arrived (header names in lower case), and the status it got."""

    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any  # the JSON in the body; None when it is not JSON
    status: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Judge = Callable[[Received], tuple[int, Any]]  # status, and a body (JSON unless a str)


class JsonReceiver(LoopbackServer):
    """Accepts POSTs to any path; ``judge`` says what each one gets."""

    def __init__(self, judge: Judge, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.judge = judge
        self.requests: list[Received] = []
        self._faults: list[tuple[int, dict[str, str]] | None] = []
        self._lock = threading.Lock()
        super().__init__(self._handler_class(), host, port)

    @property
    def accepted(self) -> list[Any]:
        """The JSON of every request answered with a 2xx, in order."""
        with self._lock:
            return [r.payload for r in self.requests if r.ok]

    def fail_next(
        self, status: int, count: int = 1, *, after: int = 0, retry_after: int | None = None
    ) -> None:
        """Answer ``count`` requests with ``status`` (and a Retry-After), after letting
        ``after`` ones be judged as usual."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._faults.extend([None] * after + [(status, headers)] * count)

    def _answer(self, request: Received) -> tuple[int, bytes, str, dict[str, str]]:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        headers: dict[str, str] = {}
        if fault is not None:
            status, headers = fault
            body: Any = {"error": f"scripted failure {status}"}
        else:
            status, body = self.judge(request)
        with self._lock:
            self.requests.append(
                Received(request.path, request.headers, request.body, request.payload, status)
            )
        if isinstance(body, str):
            return status, body.encode(), "text/plain; charset=utf-8", headers
        return status, json.dumps(body).encode(), "application/json", headers

    def _handler_class(self) -> type[QuietHandler]:
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Received(self.path, headers, raw, payload)
                status, body, content_type, extra = receiver._answer(request)
                self.send_body(status, body, content_type, extra)

        return Handler


def webhook_receiver(secret: str | None = None, **kwargs: Any) -> JsonReceiver:
    """A receiver of cbsalert's webhook: 200 for a JSON body whose signature is right (when
    it knows the ``secret``), 401 for a missing or wrong signature, 400 for a body that is
    not JSON."""

    def judge(request: Received) -> tuple[int, Any]:
        if secret is not None:
            digest = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
            given = request.headers.get("x-cbsalert-signature", "")
            if not hmac.compare_digest(given.encode(), f"sha256={digest}".encode()):
                return 401, {"error": "bad signature"}
        if request.payload is None:
            return 400, {"error": "not JSON"}
        return 200, {"ok": True}

    return JsonReceiver(judge, **kwargs)
