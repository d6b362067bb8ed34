"""A local stand-in for Slack, for the tests and the demo: a real server on loopback.

``SlackSink`` answers as an incoming webhook (POST to any path outside ``/api/``: ``ok``) and
as the Web API (POST ``/api/chat.postMessage`` and ``/api/auth.test`` with a Bearer token).
It records what arrives, so a test (or a person running the demo) can see the exact payload
cbsalert would send, and it can be told to fail the way Slack does. Like Slack, it refuses
a message beyond Block Kit's limits (``blockkit.problems``) with ``invalid_blocks``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from cbsalert.devtools import blockkit
from cbsalert.devtools.loopback import LoopbackServer, QuietHandler

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


class SlackSink(LoopbackServer):
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
        super().__init__(self._handler_class(), host, port)

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
            return [r.payload for r in self.requests if r.ok and self._is_message(r.kind, r.path)]

    def fail_next(self, fault: SlackFault, count: int = 1, *, after: int = 0) -> None:
        """Answer ``count`` requests with ``fault``, after letting ``after`` ones succeed."""
        with self._lock:
            self._faults.extend([None] * after + [fault] * count)

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
            self.stopping.wait(self.hang_s)
            fault = None
        if fault is not None:
            hook_status, hook_body, api_status, api_error = _FAULTS[fault]
            if fault == "ratelimit":
                headers["Retry-After"] = str(self.retry_after)
            status = hook_status if kind == "webhook" else api_status
            body = hook_body if kind == "webhook" else json.dumps({"ok": False, "error": api_error})
        elif self._is_message(kind, path) and blockkit.problems(payload):
            # As Slack refuses a message beyond its limits: a webhook with 400
            # invalid_blocks, the Web API with ok: false.
            status = 400 if kind == "webhook" else 200
            body = (
                "invalid_blocks"
                if kind == "webhook"
                else '{"ok": false, "error": "invalid_blocks"}'
            )
        elif kind == "webhook":
            status, body = 200, "ok"
        else:
            status, body = 200, self._api(path, payload, auth)
        ok = status == 200 and (kind == "webhook" or json.loads(body).get("ok") is True)
        with self._lock:
            self.requests.append(SlackRequest(kind, path, payload, auth, status, ok))
        return status, body, headers

    @staticmethod
    def _is_message(kind: str, path: str) -> bool:
        return kind == "webhook" or path.startswith("/api/chat.postMessage")

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

    def _handler_class(self) -> type[QuietHandler]:
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
