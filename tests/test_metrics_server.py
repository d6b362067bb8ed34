"""The metrics port under abuse: idle and half-sent connections, garbage, a run that raises.

The service's own checks matter more than its metrics: nothing a client of the metrics port
does may take the file descriptors, threads or log lines that the checks need. Servers and
clients are real sockets on loopback; ``serve`` runs as a real process where the process
(its file-descriptor limit, its stderr) is what is tested.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import resource
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cbsalert.config import load_config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.metrics import Metrics, MetricsServer
from cbsalert.scheduler import Service
from tests.test_serve import (
    FINISHED,
    GOOD_JOB,
    Heartbeats,
    Serve,
    make_config,
    notifiers,
    put_config,
    user,
    wait_until,
    world,
)

pytestmark = pytest.mark.slow  # starts processes, waits on real timeouts

HALF_SENT = b"GET /metrics HTTP/1.1\r\nHost: cbsalert\r\nX-Slow: "  # never ends its headers


def open_half_sent(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` connections (fewer than the server's listen queue holds) that send part
    of a request and then say nothing."""
    clients = []
    for _ in range(count):
        client = socket.create_connection((host, port), timeout=10)
        client.sendall(HALF_SENT)
        client.setblocking(False)
        clients.append(client)
    return clients


class Flood:
    """A client that keeps opening half-sent requests (up to ``count``) until stopped, as
    the slow clients of a scan or a broken scraper would. Connects that the server's listen
    queue has no room for time out and are tried again; ``stalled`` is set once several in
    a row did: the server takes no more, whether it chose to or ran out of descriptors."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.clients: list[socket.socket] = []
        self.stalled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(host, port, count))
        self._thread.start()

    def _run(self, host: str, port: int, count: int) -> None:
        misses = 0
        while len(self.clients) < count and not self._stop.is_set():
            try:
                client = socket.create_connection((host, port), timeout=0.5)
            except OSError:
                misses += 1
                if misses >= 3:
                    self.stalled.set()
                continue
            misses = 0
            client.sendall(HALF_SENT)
            self.clients.append(client)
        self.stalled.set()

    def __enter__(self) -> Flood:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for client in self.clients:
            client.close()


def closed_by_server(client: socket.socket) -> bool:
    """True once the server has closed (or reset) this connection."""
    readable, _, _ = select.select([client], [], [], 0)
    if not readable:
        return False
    try:
        return client.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def accepted_by(port: int) -> int:
    """Connections the server on ``port`` holds open (accepted, so each costs it a file
    descriptor). Ones still in the listen queue have no inode in /proc/net/tcp yet."""
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] != "0":
            held += 1
    return held


@pytest.fixture
def small_server() -> Iterator[MetricsServer]:
    server = MetricsServer(
        Metrics(), "127.0.0.1", 0, lambda: True, connection_limit=6, idle_timeout_s=1.0
    ).start()
    yield server
    server.stop()


def test_half_sent_requests_are_bounded_dropped_after_the_idle_timeout_and_metrics_answers(
    small_server: MetricsServer,
) -> None:
    host, port = small_server.address
    clients = open_half_sent(host, port, 20)
    answers: list[int] = []
    scrape = threading.Thread(
        target=lambda: answers.append(
            httpx.get(f"{small_server.url}/metrics", timeout=60).status_code
        )
    )
    scrape.start()
    most = 0
    try:

        def all_dropped() -> bool:
            nonlocal most
            # /proc/net/tcp is not one snapshot: a socket closed and another accepted while
            # it is read can both be counted. Two reads in a row agree on a real excess.
            most = max(most, min(accepted_by(port), accepted_by(port)))
            return all(closed_by_server(c) for c in clients)

        wait_until(all_dropped, "the server to drop every half-sent request", timeout=60)
        scrape.join(60)
    finally:
        for client in clients:
            client.close()
    assert answers == [200]
    assert 0 < most <= 6


def test_healthz_and_unknown_paths_answer_as_before(small_server: MetricsServer) -> None:
    assert httpx.get(f"{small_server.url}/healthz").text == "ok\n"
    other = httpx.get(f"{small_server.url}/other")
    assert other.status_code == 404 and "/metrics" in other.text
    assert "cbsalert_runs_total" in httpx.get(f"{small_server.url}/metrics").text


def metrics_base(svc: Serve) -> str:
    found = re.search(r"metrics on (http://127\.0\.0\.1:\d+)/metrics", svc.log)
    assert found is not None, svc.log
    return found.group(1)


def test_idle_connections_to_the_metrics_port_never_stop_the_scheduled_checks(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    """Many half-sent requests against a service allowed few file descriptors: before, each
    took a thread and a descriptor until every run failed with "Too many open files"."""
    sim = make_sim(world(user("clean", GOOD_JOB)))
    raw = make_config(sim.url, tmp_path, notifiers=notifiers(slack), metrics_port=0,
                      watch=[{"login": "clean"}])  # fmt: skip
    path = put_config(tmp_path / "c.yaml", raw)
    with Serve(tmp_path, "serve", "-c", str(path)) as svc:
        base = metrics_base(svc)
        _, hard = resource.prlimit(svc.proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(svc.proc.pid, resource.RLIMIT_NOFILE, (64, hard))
        svc.wait_for(FINISHED)
        host, port = base.removeprefix("http://").split(":")
        with Flood(host, int(port), 400) as flood:
            assert flood.stalled.wait(60)
            svc.wait_for(FINISHED, count=svc.count(FINISHED) + 3, timeout=30)
        metrics = httpx.get(f"{base}/metrics", timeout=60).text
        assert svc.stop() == 0
    assert "Too many open files" not in svc.log
    assert not re.search(r"run \d+ failed", svc.log)
    assert 'cbsalert_runs_total{outcome="error"} 0.0' in metrics
    assert re.search(r'cbsalert_runs_total\{outcome="ok"\} [3-9]', metrics)


GARBAGE = [
    b"\x00\xff\xfe garbage\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nContent-Length: x\r\n\r\n",
]


def test_garbage_requests_log_one_json_line_each_and_never_a_traceback(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("clean", GOOD_JOB)))
    raw = make_config(sim.url, tmp_path, notifiers=notifiers(slack), metrics_port=0,
                      schedule="0 0 0 1 1 *", watch=[{"login": "clean"}])  # fmt: skip
    path = put_config(tmp_path / "c.yaml", raw)
    with Serve(tmp_path, "--log-format", "json", "serve", "-c", str(path)) as svc:
        host, port = metrics_base(svc).removeprefix("http://").split(":")
        for payload in GARBAGE:
            with socket.create_connection((host, int(port)), timeout=10) as client:
                client.sendall(payload)
                assert client.recv(64).startswith(b"HTTP/1.")
        # A client that resets the connection mid-request is not an event at all.
        client = socket.create_connection((host, int(port)), timeout=10)
        client.sendall(b"GET /metrics HTTP/1.1\r\n")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        client.close()
        svc.wait_for(r"bad request", count=len(GARBAGE))
        assert httpx.get(f"{metrics_base(svc)}/healthz").status_code == 200
        assert svc.stop() == 0
    lines = [json.loads(line) for line in svc.log.splitlines()]  # every line is JSON
    bad = [line for line in lines if "bad request" in line["message"]]
    assert len(bad) == len(GARBAGE)
    assert all(line["level"] == "info" and "127.0.0.1" in line["message"] for line in bad)
    assert "Traceback" not in svc.log, svc.log


def test_a_run_that_fails_for_any_reason_counts_as_an_error_and_pings_fail(
    make_sim: Callable[..., Simulator],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run that raises something cbsalert did not foresee (here: file descriptors ran
    out) is still a failed run: counted, logged once, and the dead man's switch hears of it."""
    sim = make_sim(world(user("clean", GOOD_JOB)))
    beats = Heartbeats()
    raw = make_config(sim.url, tmp_path, heartbeat_url=beats.url, watch=[{"login": "clean"}])
    path = put_config(tmp_path / "c.yaml", raw)

    async def out_of_descriptors(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr("cbsalert.scheduler.run_once", out_of_descriptors)
    metrics = Metrics()
    service = Service(path, load_config(path), metrics)
    try:
        with caplog.at_level(logging.INFO):
            service.run_scheduled(scheduled=False)
        wait_until(lambda: beats.count("/fail") == 1, "a /fail ping")
    finally:
        beats.stop()
    text = metrics.render().decode()
    assert 'cbsalert_runs_total{outcome="error"} 1.0' in text
    assert "cbsalert_run_duration_seconds_count 1.0" in text
    failed = [r for r in caplog.records if "run 1 failed" in r.getMessage()]
    assert len(failed) == 1 and "Too many open files" in failed[0].getMessage()
    assert beats.count() == 0


def test_an_idle_server_with_a_short_idle_timeout_does_not_spin(
    small_server: MetricsServer,
) -> None:
    """waitress reads its loop timeout as whole seconds: a fraction (0.25 s for a 1 s idle
    timeout) became poll(0), a loop burning a whole core while nobody connects."""
    before = time.process_time()
    time.sleep(1.0)
    assert time.process_time() - before < 0.5
