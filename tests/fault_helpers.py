"""What the fault tests share: a world that fails and recovers, configs, CLI subprocesses, a
Slack stand-in that kills the run it serves, and what arrived where.

The world has three users over two days (the simulator's "today" is 2026-11-23):

* ``user-alice``: set 1 failed on DAY1 and succeeded on DAY2 (a fetch fault on DAY2 must not
  be taken for that success);
* ``user-bob``: set 2 failed on both days (still firing, nothing new to say on DAY2);
* ``user-carol``: set 3 fine on both days.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cbsalert.config import load_config
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.pipeline import RunResult, run_once
from tests.conftest import SYS_PASSWORD, config_dict, write_config

DAY1 = date(2026, 11, 21)
DAY2 = date(2026, 11, 22)
NOW1 = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
NOW2 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent

ALICE, BOB, CAROL = "user-alice", "user-bob", "user-carol"
LOGINS = (ALICE, BOB, CAROL)
FAILED = "BS_STOP_BY_SYSTEM_ERROR"


def _job(day_offset: int, set_id: str, status: str = "BS_STOP_SUCCESS") -> dict[str, Any]:
    return {
        "set": set_id,
        "start": f"D-{day_offset} 20:00:00",
        "end": f"D-{day_offset} 20:30:00",
        "status": status,
    }


WORLD: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "users": [
        {
            "login": ALICE,
            "backup_sets": [{"id": "1", "name": "Docs"}],
            "jobs": [_job(2, "1", FAILED), _job(1, "1")],
        },
        {
            "login": BOB,
            "backup_sets": [{"id": "2", "name": "Mail"}],
            "jobs": [_job(2, "2", FAILED), _job(1, "2", FAILED)],
        },
        {
            "login": CAROL,
            "backup_sets": [{"id": "3", "name": "Photos"}],
            "jobs": [_job(2, "3"), _job(1, "3")],
        },
    ],
}


def many_users(count: int) -> dict[str, Any]:
    """``count`` users ``user-000``... whose only set failed on DAY2."""
    return {
        "timezone": "Europe/Amsterdam",
        "users": [
            {
                "login": f"user-{i:03d}",
                "backup_sets": [{"id": f"{i}", "name": f"Set {i}"}],
                "jobs": [_job(1, f"{i}", FAILED)],
            }
            for i in range(count)
        ],
    }


def fault_config(
    sim_url: str,
    tmp_path: Path,
    *,
    logins: Iterable[str] = LOGINS,
    slack_url: str | None = None,
    smtp_port: int | None = None,
    group: str = "digest",
    **overrides: Any,
) -> dict[str, Any]:
    """A config over the world, routed to a Slack webhook and/or an SMTP server."""
    notifiers: dict[str, Any] = {}
    if slack_url is not None:
        notifiers["slack"] = {"type": "slack", "webhook_url": slack_url, "group": group,
                              "timeout_s": 1}  # fmt: skip
    if smtp_port is not None:
        notifiers["mail"] = {
            "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
            "from": "cbsalert@example.com", "to": ["ops@example.com"], "group": group,
            "timeout_s": 2,
        }  # fmt: skip
    rules = [{"id": "backup-failed", "kind": "backup_status", "notify": list(notifiers)}]
    raw = config_dict(sim_url, tmp_path, watch=[{"login": x} for x in logins], rules=rules,
                      notifiers=notifiers)  # fmt: skip
    for key, value in overrides.items():
        if key == "cbs":
            raw["cbs"].update(value)
        else:
            raw[key] = value
    return raw


# -- the CLI as a subprocess ------------------------------------------------------------------


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: no inherited cbsalert settings, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CBSALERT_", "SLACK_"))}
    env.update({"COLUMNS": "200", "PYTHONPATH": str(ROOT)}, **(extra or {}))
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cbsalert", *args]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=60, env=cli_env(env))


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(env)
    )


def check_args(path: Path, day: date = DAY2, *extra: str) -> list[str]:
    return ["check", "-c", str(path), "--date", day.isoformat(), *extra]


def save(tmp_path: Path, raw: dict[str, Any], name: str = "cbsalert.yaml") -> Path:
    return write_config(tmp_path / name, raw)


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


# -- what arrived -----------------------------------------------------------------------------


def logins_in(text: str, logins: Iterable[str] = LOGINS) -> list[str]:
    return [login for login in logins if login in text]


def slack_texts(messages: Iterable[dict[str, Any]]) -> list[str]:
    return [json.dumps(m, ensure_ascii=False) for m in messages]


def mail_texts(messages: Iterable[EmailMessage]) -> list[str]:
    out = []
    for message in messages:
        body = message.get_body(("plain",))
        assert body is not None
        out.append(str(message["Subject"]) + "\n" + body.get_content())
    return out


def assert_delivered(
    texts: list[str], logins: Iterable[str], *, expected: int = 1, duplicates: int = 0
) -> None:
    """Every login's alert is in some message, and at most ``duplicates`` messages more
    than ``expected`` arrived (a digest per run is one message)."""
    wanted = list(logins)
    assert sorted({x for text in texts for x in logins_in(text, wanted)}) == sorted(wanted), texts
    assert expected <= len(texts) <= expected + duplicates, texts


# -- the state database -----------------------------------------------------------------------


def dump(path: Path) -> str:
    """The whole SQLite database as SQL text (``.dump``)."""
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement on the SQLite file (committed) and return its rows."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(sql).fetchall()
        connection.commit()
        return rows
    finally:
        connection.close()


# -- a Slack webhook that kills the run it is serving ---------------------------------------


class KillingSlack:
    """An incoming-webhook stand-in. On its ``kill_on``-th POST it records the message as
    received, then SIGKILLs ``victim`` before answering: the message reached "Slack" but
    the run never learns it, which is exactly a crash between send and record. Every
    other POST is answered ``ok``.
    """

    def __init__(self, kill_on: int = 1) -> None:
        self.kill_on = kill_on
        self.victim: int | None = None
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/services/T0/B0/k1ll1ngW3bh00k"

    def __enter__(self) -> KillingSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _received(self, payload: dict[str, Any]) -> bool:
        """Record a message; True when this one is the one to kill on."""
        with self._lock:
            self.messages.append(payload)
            due = len(self.messages) == self.kill_on and self.victim is not None
        if due and self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
        return due

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if sink._received(json.loads(raw or b"{}")):
                    self.close_connection = True
                    return  # the run is dead; nobody is waiting for the answer
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


# -- injected crashes and limits, without test hooks in the package ---------------------------

# Runs the CLI (arguments after the first two) in a process that first sets a file-size limit
# ("fsize", bytes) or arranges to SIGKILL itself at a step of the run ("crash", step):
#   after-evaluate   rules evaluated, nothing reconciled or stored yet
#   after-reconcile  alert changes and owed deliveries committed, the run lock held, nothing sent
_WRAPPER = """
import os, resource, signal, sys

mode, arg, args = sys.argv[1], sys.argv[2], sys.argv[3:]


def die(*_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if mode == "fsize":
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(arg), hard))
elif mode == "crash":
    from cbsalert.state import StateStore

    if arg == "after-evaluate":
        from cbsalert.evaluate import Evaluator

        finish = Evaluator.finish
        Evaluator.finish = lambda self: die(finish(self))
    elif arg == "after-reconcile":
        reconcile = StateStore.reconcile
        StateStore.reconcile = lambda self, *a, **k: die(reconcile(self, *a, **k))
    else:
        raise SystemExit(f"unknown crash point {arg}")
sys.argv = ["cbsalert", *args]
from cbsalert.cli import main

main()
"""


def run_wrapped(mode: str, arg: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A CLI run under ``_WRAPPER``."""
    command = [sys.executable, "-c", _WRAPPER, mode, arg, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=cli_env())


def check_in_process(path: Path, day: date = DAY2, **kwargs: Any) -> RunResult:
    """A normal check in this process (the same ``run_once`` as the CLI, without the
    second of interpreter start-up): used for the run that follows a killed one."""
    return asyncio.run(run_once(load_config(path), day=day, **kwargs))


class ScriptedSim(Simulator):
    """The simulator with per-login misbehaviour the built-in faults lack: a login whose
    ListBackupJobMode answers slowly (``slow``: seconds) or with ``Status: Error``
    (``api_error``: its message)."""

    def __init__(
        self,
        data: dict[str, Any],
        *,
        slow: dict[str, float] | None = None,
        api_error: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            SimData.model_validate({"system_password": SYS_PASSWORD, "today": "2026-11-23", **data})
        )
        self.slow = slow or {}
        self.api_error = api_error or {}

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        login = str(params.get("LoginName", ""))
        if operation != "ListBackupJobMode":
            return super().answer(operation, params)
        if login in self.slow:
            self.stopping.wait(self.slow[login])
        if login in self.api_error:
            return {"Status": "Error", "Message": self.api_error[login], "ExptType": "x.y.Expt"}
        return super().answer(operation, params)
