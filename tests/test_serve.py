"""`cbsalert serve` as a real process: schedule, signals, reload, heartbeat, meta-alert, metrics.

Each test starts ``python -m cbsalert serve`` against the simulated CBS and the local Slack
and SMTP sinks in this process, with 6-field cron schedules of a second, and reads what
the service logs. Waits poll with deadlines; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from cbsalert.config import load_config
from cbsalert.devtools.loopback import LoopbackServer, QuietHandler
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.scheduler import scheduled_slot
from cbsalert.state import open_store
from tests.cli_invoke import invoke
from tests.conftest import SYS_PASSWORD, config_dict

pytestmark = pytest.mark.slow  # starts processes, waits on real timeouts

ZONE = "Europe/Amsterdam"
EVERY_SECOND = "* * * * * *"
NEVER_SOON = "0 0 0 1 1 *"  # midnight on 1 January: only --run-now and reloads make runs here
FINISHED = r"run \d+ finished"
HEARTBEAT_SECRET = "3f1c9e2a-heartbeat-uuid"

FAILED_JOB = {"set": "1", "start": "D-1 22:00:00", "end": "D-1 22:10:00",
              "status": "BS_STOP_BY_SYSTEM_ERROR"}  # fmt: skip
GOOD_JOB = {"set": "1", "start": "D-1 22:00:00", "end": "D-1 22:10:00"}


def user(login: str, job: dict[str, Any]) -> dict[str, Any]:
    return {"login": login, "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": [job]}


def world(*users: dict[str, Any], latency_ms: float = 0) -> dict[str, Any]:
    # "today": None makes the simulator's today the real one, which `serve` checks the eve of.
    return {"timezone": ZONE, "today": None, "latency_ms": latency_ms, "users": list(users)}


def sim_data(raw: dict[str, Any]) -> SimData:
    return SimData.model_validate({"system_password": SYS_PASSWORD, **raw})


def yesterday() -> str:
    """The day `serve` checks: yesterday in the config's time zone."""
    return (datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=1)).isoformat()


def notifiers(slack: SlackSink, smtp: SmtpSink | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"slack": {"type": "slack", "webhook_url": slack.url}}
    if smtp is not None:
        out["email"] = {"type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
                        "from": "cbsalert@example.com", "to": ["oncall@example.com"]}  # fmt: skip
    return out


def make_config(sim_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    raw = config_dict(sim_url, tmp_path, timezone=ZONE, schedule=EVERY_SECOND)
    raw.update(overrides)
    return raw


def put_config(path: Path, raw: dict[str, Any] | str) -> Path:
    """Replace the file at once, as editors and config management do (never half-written)."""
    text = raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False)
    temp = path.with_name(path.name + ".new")
    temp.write_text(text, encoding="utf-8")
    temp.chmod(0o600)
    os.replace(temp, path)
    return path


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


class Serve:
    """``cbsalert serve`` in a subprocess; its log (stderr) goes to a file we poll."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.log_file = tmp_path / f"serve-{time.monotonic_ns()}.log"
        self._log = self.log_file.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cbsalert", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=tmp_path,
        )

    def __enter__(self) -> Serve:
        self.wait_for(r"serving ")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    @property
    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log))

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 15.0) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None and self.count(pattern) < count:
                raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.log}")
            return self.count(pattern) >= count

        try:
            wait_until(seen, f"{count} x {pattern!r}", timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- serve log ---\n{self.log}") from None

    def send(self, signo: int) -> None:
        self.proc.send_signal(signo)

    def stop(self, signo: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.send(signo)
        return self.proc.wait(timeout)


class Heartbeats(LoopbackServer):
    """A dead man's switch stand-in: counts GETs by path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        pings = self.paths

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                pings.append(self.path)
                self.send_body(200, b"OK", "text/plain")

        super().__init__(Handler)
        self.start()
        self.url = f"{self.base_url}/ping/{HEARTBEAT_SECRET}"

    def count(self, suffix: str = "") -> int:
        return self.paths.count(f"/ping/{HEARTBEAT_SECRET}{suffix}")


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in (SYS_PASSWORD, "s3cr3tW3bh00kP4th", HEARTBEAT_SECRET, *secrets):
        assert secret not in text


def test_runs_follow_the_schedule_say_each_alert_once_and_sigterm_lets_the_run_finish(
    make_sim: Callable[..., Simulator], slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", FAILED_JOB), user("obm2", GOOD_JOB)))
    raw = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack, smtp),
        watch=[{"login": "obm"}, {"login": "obm2"}],
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["slack", "email"]}],
    )  # fmt: skip
    path = put_config(tmp_path / "cbsalert.yaml", raw)

    with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
        svc.wait_for(FINISHED, count=3)
        assert (len(slack.messages), len(smtp.messages)) == (1, 1)
        assert svc.stop() == 0
    assert (len(slack.messages), len(smtp.messages)) == (1, 1)
    assert f"checked 2/2 users for {yesterday()}; alerts: 1 new" in svc.log
    assert "deliveries: 2 sent, 0 failed" in svc.log
    assert svc.count("still firing") >= 2 and svc.count("deliveries: 0 sent") >= 2

    # obm2's backup now fails too, and the CBS is slow: SIGTERM lands while the run that
    # must announce it waits for its first answer.
    sim.set_data(sim_data(world(user("obm", FAILED_JOB), user("obm2", FAILED_JOB),
                                latency_ms=300)))  # fmt: skip
    calls = sim.count()
    with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
        wait_until(lambda: sim.count() > calls, "the first call of the run")
        assert svc.stop(signal.SIGTERM) == 0
    log = svc.log
    assert log.index("SIGTERM: stopping; waiting up to") < log.index("run 1 finished")
    assert "alerts: 1 new, 0 reminders, 1 still firing" in log
    assert "deliveries: 2 sent, 0 failed" in log
    assert svc.count(r"run \d+ started") == 1
    assert (len(slack.messages), len(smtp.messages)) == (2, 2)
    assert "obm2" in json.dumps(slack.messages[-1])

    sim.set_data(sim_data(world(user("obm", FAILED_JOB), user("obm2", FAILED_JOB))))
    check = invoke("check", "-c", str(path), "--format", "json")
    assert check.exit_code == 0, check.output
    doc = json.loads(check.stdout)
    assert doc["date"] == yesterday() and doc["deliveries"] == {"sent": 0, "failed": 0}
    assert {a["state"] for a in doc["alerts"]} == {"firing"}
    assert (len(slack.messages), len(smtp.messages)) == (2, 2)
    assert_no_secrets(log + check.stdout + check.stderr)


def test_sighup_and_a_changed_file_reload_the_config_and_a_bad_one_is_refused(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("clean", GOOD_JOB), user("obm", FAILED_JOB),
                         user("obm2", FAILED_JOB)))  # fmt: skip
    base = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack),
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["slack"]}],
    )  # fmt: skip
    path = put_config(tmp_path / "c.yaml", {**base, "schedule": NEVER_SOON,
                                             "watch": [{"login": "clean"}]})  # fmt: skip

    with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
        svc.wait_for("run 1 finished: checked 1/1 users")
        assert slack.messages == []

        # SIGHUP: a new user to watch and a new schedule (every second) take effect.
        put_config(path, {**base, "watch": [{"login": "obm"}]})
        svc.send(signal.SIGHUP)
        svc.wait_for(r"config reloaded \(SIGHUP\)")
        wait_until(lambda: len(slack.messages) == 1, "the alert about obm")

        # A changed file is noticed before the next run, without a signal.
        put_config(path, {**base, "watch": [{"login": "obm"}, {"login": "obm2"}]})
        svc.wait_for(r"config reloaded \(file changed\)")
        wait_until(lambda: len(slack.messages) == 2, "the alert about obm2")

        # A broken file is refused, named with its line, and the service goes on as it was.
        put_config(path, {**base, "schedul": "oops", "watch": [{"login": "clean"}]})
        refused = r"config reload \(file changed\) failed, keeping the previous config"
        svc.wait_for(refused)
        done = svc.count(r"finished: checked 2/2 users")
        svc.wait_for(r"finished: checked 2/2 users", count=done + 2)
        svc.send(signal.SIGHUP)
        svc.wait_for(r"config reload \(SIGHUP\) failed, keeping the previous config")
        assert svc.stop(signal.SIGINT) == 0

    log = svc.log
    assert re.search(r"c\.yaml:\d+: schedul: unknown key 'schedul'", log)
    assert svc.count(refused) == 1  # logged once per change, not before every run
    assert len(slack.messages) == 2
    assert "SIGINT: stopping" in log and log.rstrip().endswith("stopped")
    assert_no_secrets(log)


def test_heartbeat_pings_fail_while_the_cbs_is_down_and_the_meta_alert_is_said_once(
    make_sim: Callable[..., Simulator], slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    data = world(user("clean", GOOD_JOB))
    sim = make_sim(data)
    port = int(sim.url.rsplit(":", 1)[1])
    beats = Heartbeats()
    raw = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack, smtp), heartbeat_url=beats.url,
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["slack"]}],
        watch=[{"login": "clean"}],
    )  # fmt: skip
    path = put_config(tmp_path / "c.yaml", raw)
    revived: Simulator | None = None
    try:
        with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
            wait_until(lambda: beats.count() >= 2, "two heartbeats")
            assert beats.count("/fail") == 0 and slack.messages == []

            sim.stop()  # the CBS is gone
            wait_until(lambda: beats.count("/fail") >= 3, "three /fail pings")
            assert (len(slack.messages), len(smtp.messages)) == (1, 1)
            assert "cannot reach CBS 127.0.0.1" in json.dumps(slack.messages[0])
            mail = smtp.messages[0].get_body(("plain",)).get_content()
            assert "cbsalert cannot reach CBS 127.0.0.1: " in mail

            revived = Simulator(sim_data(data), port=port)
            revived.start()
            good = beats.count()
            wait_until(lambda: len(slack.messages) == 2 and len(smtp.messages) == 2, "resolved")
            wait_until(lambda: beats.count() >= good + 2, "heartbeats again")
            assert "again" in json.dumps(slack.messages[1])
            assert svc.stop() == 0
        assert (len(slack.messages), len(smtp.messages)) == (2, 2)
        assert "the CBS cannot be used" in svc.log
        assert_no_secrets(svc.log)
    finally:
        beats.stop()
        if revived is not None:
            revived.stop()


def test_metrics_and_healthz_answer_and_json_logs_carry_the_run_summary(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", FAILED_JOB)))
    raw = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack), metrics_port=0, schedule=NEVER_SOON,
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["slack"]}],
        watch=[{"login": "obm"}, {"login": "ghost"}],  # ghost: not on this CBS
    )  # fmt: skip
    path = put_config(tmp_path / "c.yaml", raw)
    args = ("--log-format", "json", "serve", "-c", str(path), "--run-now")
    with Serve(tmp_path, *args) as svc:
        svc.wait_for(FINISHED)
        lines = [json.loads(line) for line in svc.log.splitlines()]
        base = next(
            m.group(1)
            for line in lines
            if (m := re.match(r"metrics on (http://127\.0\.0\.1:\d+)/metrics", line["message"]))
        )
        metrics = httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/other").status_code == 404
        assert svc.stop() == 0

    summary = next(line for line in lines if line.get("event") == "run_finished")
    assert summary["date"] == yesterday()
    assert (summary["users_checked"], summary["users_total"]) == (1, 2)
    # new: obm's failed backup, and ghost could not be checked (one digest for both)
    assert (summary["alerts_new"], summary["alerts_repeat"], summary["alerts_resolved"]) == (
        2,
        0,
        0,
    )
    assert (summary["deliveries_sent"], summary["deliveries_failed"]) == (1, 0)
    assert summary["outcome"] == "partial" and summary["duration_s"] > 0
    for series in (
        'cbsalert_runs_total{outcome="partial"} 1.0',
        'cbsalert_runs_total{outcome="ok"} 0.0',
        "cbsalert_run_duration_seconds_count 1.0",
        'cbsalert_alerts{severity="critical",state="new"} 1.0',
        'cbsalert_alerts{severity="warning",state="new"} 1.0',
        'cbsalert_deliveries_total{result="sent"} 1.0',
        'cbsalert_users{result="failed"} 1.0',
        "cbsalert_last_success_timestamp_seconds 0.0",
    ):
        assert series in metrics
    calls = re.findall(r'cbsalert_api_calls_total\{operation="(\w+)"\} (\d+)', metrics)
    assert sum(int(float(n)) for _, n in calls) == sim.count()
    assert re.search(r'cbsalert_api_errors_total\{operation="\w+"\} 1\.0', metrics)
    assert re.search(r"cbsalert_last_run_timestamp_seconds \d\.\d+e\+09", metrics)
    assert_no_secrets(svc.log)


def test_a_run_that_cannot_use_the_state_database_is_logged_and_the_service_keeps_going(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(world(user("clean", GOOD_JOB)))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    beats = Heartbeats()
    raw = make_config(sim.url, tmp_path, state=f"sqlite:///{blocker / 'state.db'}",
                      heartbeat_url=beats.url, metrics_port=0)  # fmt: skip
    path = put_config(tmp_path / "c.yaml", raw)
    try:
        with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
            svc.wait_for(r"run \d+ failed: cannot upgrade state database", count=2)
            wait_until(lambda: beats.count("/fail") >= 2, "two /fail pings")
            found = re.search(r"metrics on (http://[\d.:]+)/metrics", svc.log)
            assert found is not None
            metrics = httpx.get(f"{found.group(1)}/metrics").text
            assert svc.proc.poll() is None
            assert svc.stop() == 0
    finally:
        beats.stop()
    assert beats.count() == 0
    assert re.search(r'cbsalert_runs_total\{outcome="error"\} [2-9]', metrics)
    assert "Traceback" not in svc.log
    assert_no_secrets(svc.log)


def test_a_run_outlasting_the_shutdown_timeout_is_left_and_the_next_run_catches_up(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", FAILED_JOB), latency_ms=400))
    raw = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack), schedule=NEVER_SOON,
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["slack"]}],
    )  # fmt: skip
    path = put_config(tmp_path / "c.yaml", raw)
    args = ("serve", "-c", str(path), "--run-now", "--shutdown-timeout", "0.1")
    with Serve(tmp_path, *args) as svc:
        wait_until(lambda: sim.count() > 0, "the first call of the run")
        assert svc.stop() == 0
    assert "did not end within 0.1s; exiting anyway" in svc.log
    assert "run 1 finished" not in svc.log and slack.messages == []

    sim.set_data(sim_data(world(user("obm", FAILED_JOB))))
    check = invoke("check", "-c", str(path), "--format", "json")
    assert check.exit_code == 0, check.output
    assert json.loads(check.stdout)["deliveries"] == {"sent": 1, "failed": 0}
    assert len(slack.messages) == 1


def test_run_now_runs_even_when_the_current_scheduled_slot_was_done_elsewhere(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", FAILED_JOB)))
    rule = {"id": "backup-failed", "kind": "backup_status", "notify": ["slack"]}
    raw = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack), schedule="* * * * *", rules=[rule]
    )
    path = put_config(tmp_path / "c.yaml", raw)
    config = load_config(path)
    store = open_store(config.state, auto_upgrade=True)
    now = datetime.now(UTC)
    for moment in (now, now + timedelta(minutes=1)):  # this minute's slot, and the next one's
        slot = scheduled_slot(config, moment)
        assert slot is not None
        with store.lock.hold("other", timeout_s=5):
            assert store.slots.claim(slot, "other", now=moment)
            store.slots.finish(slot, now=moment)
    store.close()

    with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
        svc.wait_for(FINISHED)
        assert svc.stop() == 0
    assert "run 1 finished" in svc.log and "skipped" not in svc.log
    assert len(slack.messages) == 1
