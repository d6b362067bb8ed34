"""notify.http.post_json against a real loopback server that answers from a script: what
is retried, how often, how long it waits, and what is permanent. Waits go to an injected
``sleep``, so no test waits for a Retry-After."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cbsalert.devtools.loopback import LoopbackServer, QuietHandler
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import DeliveryError
from cbsalert.notify.http import RateLimitBudget, Retries, post_json

SECRET_PATH = "/hooks/T1/B1/s3cretP4th"
TOKEN = "Bearer-t0ken-S3cret"


class Scripted(LoopbackServer):
    """Answers each POST with the next step of ``script``: ``(status, headers)``, ``"drop"``
    (close without an answer) or ``"hang"`` (answer nothing until the test ends); 200 once
    the script is done. ``bodies`` holds what it was sent."""

    def __init__(self) -> None:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                with server.lock:
                    server.bodies.append(json.loads(self.rfile.read(length)))
                    step = server.script.pop(0) if server.script else (200, {})
                if step == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if step == "hang":
                    server.stopping.wait(10)
                    return
                status, headers = step
                self.send_body(status, b"ok" if status == 200 else b"no_service", "text/plain",
                               headers)  # fmt: skip

        super().__init__(Handler)
        self.lock = threading.Lock()
        self.script: list[Any] = []
        self.bodies: list[Any] = []

    @property
    def url(self) -> str:
        return self.base_url + SECRET_PATH


@pytest.fixture
def server() -> Iterator[Scripted]:
    with Scripted() as running:
        yield running


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def post(server: Scripted, waits: Waits, **extra: Any) -> Any:
    return post_json(server.url, {"text": "hi"}, what="hook ops", timeout_s=1,
                     secrets=[TOKEN], sleep=waits, **extra)  # fmt: skip


def test_a_message_is_posted_as_json_and_the_answer_returned(server: Scripted) -> None:
    response = post(server, Waits(), headers={"Authorization": TOKEN})

    assert response.status_code == 200
    assert server.bodies == [{"text": "hi"}]


def test_server_errors_are_retried_twice_then_fail_transiently(server: Scripted) -> None:
    server.script = [(500, {}), (502, {}), (503, {}), (200, {})]
    waits = Waits()

    with pytest.raises(DeliveryError) as caught:
        post(server, waits)

    assert not caught.value.permanent
    assert "HTTP 503" in str(caught.value)
    assert len(server.bodies) == 3 and len(waits) == 2
    assert waits[0] < waits[1]  # backing off


def test_one_server_error_is_retried_and_the_message_goes_through(server: Scripted) -> None:
    server.script = [(500, {})]

    assert post(server, Waits()).status_code == 200
    assert len(server.bodies) == 2


def test_a_rate_limit_is_waited_for_as_long_as_retry_after_says(server: Scripted) -> None:
    server.script = [(429, {"Retry-After": "7"})]
    waits = Waits()

    post(server, waits)

    assert waits == [7.0] and len(server.bodies) == 2


@pytest.mark.parametrize("retry_after", ["61", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_a_retry_after_beyond_the_cap_or_unreadable_fails_at_once(
    server: Scripted, retry_after: str
) -> None:
    server.script = [(429, {"Retry-After": retry_after})]
    waits = Waits()

    with pytest.raises(DeliveryError) as caught:
        post(server, waits)

    assert not caught.value.permanent
    assert "rate limited longer than cbsalert waits" in str(caught.value)
    assert waits == [] and len(server.bodies) == 1


def test_rate_limits_are_waited_for_three_times_at_most(server: Scripted) -> None:
    server.script = [(429, {"Retry-After": "0"})] * 4
    waits = Waits()

    with pytest.raises(DeliveryError):
        post(server, waits)

    assert len(waits) == 3 and len(server.bodies) == 4


def test_the_waits_of_one_message_share_one_budget(server: Scripted) -> None:
    budget = RateLimitBudget(90.0)
    server.script = [(429, {"Retry-After": "40"}), (200, {}), (429, {"Retry-After": "40"}),
                     (429, {"Retry-After": "40"})]  # fmt: skip
    waits = Waits()

    post(server, waits, budget=budget)  # one part of the message: waits 40 s
    with pytest.raises(DeliveryError):  # the next: 40 s more fit, 40 s after that do not
        post(server, waits, budget=budget)

    assert waits == [40.0, 40.0] and budget.left_s == 10.0


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (403, True), (404, True), (410, True), (408, False)]
)
def test_a_client_error_is_permanent_except_a_request_timeout(
    server: Scripted, status: int, permanent: bool
) -> None:
    server.script = [(status, {})]

    with pytest.raises(DeliveryError) as caught:
        post(server, Waits())

    assert caught.value.permanent is permanent
    assert f"hook ops answered HTTP {status}: no_service" in str(caught.value)
    assert len(server.bodies) == 1


def test_a_dropped_connection_is_retried_twice_then_fails_transiently(server: Scripted) -> None:
    server.script = ["drop", "drop", "drop"]

    with pytest.raises(DeliveryError) as caught:
        post(server, Waits())

    assert not caught.value.permanent and len(server.bodies) == 3


def test_a_timeout_is_not_retried(server: Scripted) -> None:
    server.script = ["hang"]

    with pytest.raises(DeliveryError) as caught:
        post(server, Waits())

    assert not caught.value.permanent
    assert "timed out after 1 s" in str(caught.value)
    assert len(server.bodies) == 1


def test_a_refused_connection_is_transient_and_the_url_path_stays_secret() -> None:
    url = f"http://127.0.0.1:{SmtpSink.closed_port()}{SECRET_PATH}"
    with pytest.raises(DeliveryError) as caught:
        post_json(url, {}, what="hook ops", timeout_s=1, sleep=Waits())

    assert not caught.value.permanent
    assert "s3cretP4th" not in str(caught.value) and "/hooks" not in str(caught.value)


def test_a_url_that_is_not_http_is_permanent() -> None:
    with pytest.raises(DeliveryError) as caught:
        post_json("ftp://example.com/x", {}, what="hook ops", timeout_s=1)

    assert caught.value.permanent


def test_no_secret_reaches_an_error_or_httpxs_log(
    server: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script = [(404, {})]

    with pytest.raises(DeliveryError) as caught:
        post_json(server.url, {"token": TOKEN}, what=f"hook {TOKEN}", timeout_s=1,
                  secrets=[TOKEN])  # fmt: skip

    assert "HTTP Request" in caplog.text  # httpx did log the request
    for text in (str(caught.value), caplog.text):
        assert "s3cretP4th" not in text and TOKEN not in text


def test_the_defaults_are_the_documented_slack_policy() -> None:
    assert Retries() == Retries(errors=2, rate_limits=3, max_wait_s=60.0, backoff_s=0.3)
