"""`cbsalert serve` and a config that goes wrong under it: any bad reload (SIGHUP or the
check for a changed file before a run) is logged as ``file:line`` problems and the running
config is kept; SIGTERM stops the service within ``--shutdown-timeout`` whatever a reload
or a run is doing.

A reload that never ends is a config file that is a FIFO nobody writes to: reading it
blocks exactly like a file on a hung network mount. The test opens the FIFO's write end
only once the service has opened it for reading, so it knows the reload is stuck.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from cbsalert.config import load_config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.metrics import Metrics
from cbsalert.scheduler import Service
from tests.test_config_yaml import BOMB
from tests.test_serve import (
    EVERY_SECOND,
    FAILED_JOB,
    FINISHED,
    GOOD_JOB,
    NEVER_SOON,
    Serve,
    make_config,
    notifiers,
    put_config,
    user,
    wait_until,
    world,
)

pytestmark = pytest.mark.slow  # starts processes, waits on real timeouts

REFUSED = r"config reload \({}\) failed, keeping the previous config: "


def dump(raw: dict[str, object]) -> str:
    return yaml.safe_dump(raw, sort_keys=False)


@contextmanager
def stuck_config(path: Path, then: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Replace the config by a FIFO and call ``then``; once the service opens the FIFO,
    hold it open, unwritten, until the block ends."""
    fifo = path.with_name("fifo")
    os.mkfifo(fifo)
    os.replace(fifo, path)
    then()

    def reader_opened() -> int | None:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:  # ENXIO: nobody reads it yet
            if exc.errno != errno.ENXIO:
                raise
            return None

    fd = wait_until(reader_opened, "the service to open the config")
    try:
        yield
    finally:
        os.close(fd)


def test_any_bad_reload_is_refused_at_its_line_and_the_service_goes_on(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("clean", GOOD_JOB), user("obm", FAILED_JOB)))
    base = make_config(
        sim.url, tmp_path, notifiers=notifiers(slack), schedule=NEVER_SOON,
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["slack"]}],
        watch=[{"login": "clean"}],
    )  # fmt: skip
    path = put_config(tmp_path / "c.yaml", base)
    good = dump(base)
    broken = {
        "a python tag": (good.replace("kind: backup_status", "kind: !!python/name:os.system"),
                         "rules[0].kind: the tag !!python/name:os.system is not allowed"),
        "an empty value": (good.replace("timezone: Europe/Amsterdam", "timezone:"),
                           "timezone: has no value"),
        "a list as a key": (good + "[a, b]: 1\n", "a list cannot be a key"),
        "a duplicate key": (good + "timezone: UTC\n", "timezone: duplicate key (first at line"),
        "an alias bomb": (good + BOMB, "aliases expand to more than"),
    }  # fmt: skip

    with Serve(tmp_path, "serve", "-c", str(path), "--run-now") as svc:
        svc.wait_for("run 1 finished: checked 1/1 users")
        for count, (text, problem) in enumerate(broken.values(), start=1):
            put_config(path, text)
            svc.send(signal.SIGHUP)
            svc.wait_for(REFUSED.format("SIGHUP"), count=count)
            assert problem in svc.log

        every_second = {**base, "schedule": EVERY_SECOND}
        put_config(path, dump(every_second))
        svc.send(signal.SIGHUP)
        svc.wait_for(r"config reloaded \(SIGHUP\)")
        svc.wait_for(FINISHED, count=2)

        # Broken again when the schedule next fires: that reload is refused too, and the
        # runs go on with the config they had (obm is never watched).
        text, _ = broken["a python tag"]
        put_config(path, text.replace("login: clean", "login: obm"))
        svc.wait_for(REFUSED.format("file changed"))
        runs = svc.count(FINISHED)
        svc.wait_for(FINISHED, count=runs + 2)
        assert svc.stop() == 0

    assert "Traceback" not in svc.log and "failed unexpectedly" not in svc.log
    assert svc.count(r"finished: checked 1/1 users for") == svc.count(FINISHED)
    assert slack.messages == []
    assert svc.log.rstrip().endswith("stopped")


def test_sigterm_stops_serve_while_a_sighup_reload_is_stuck(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(world(user("clean", GOOD_JOB)))
    path = put_config(tmp_path / "c.yaml", make_config(sim.url, tmp_path, schedule=NEVER_SOON))
    args = ("serve", "-c", str(path), "--shutdown-timeout", "0.2")
    with Serve(tmp_path, *args) as svc, stuck_config(path, lambda: svc.send(signal.SIGHUP)):
        # The timeout only keeps a regression from hanging the suite; nothing is timed.
        assert svc.stop(signal.SIGTERM, timeout=30) == 0
    assert "SIGTERM: stopping" in svc.log
    assert "Traceback" not in svc.log


def test_sigterm_stops_serve_while_the_reload_before_a_run_is_stuck(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(world(user("clean", GOOD_JOB)))
    path = put_config(tmp_path / "c.yaml", make_config(sim.url, tmp_path))  # every second
    with Serve(tmp_path, "serve", "-c", str(path), "--shutdown-timeout", "0.2") as svc:
        svc.wait_for(FINISHED)
        with stuck_config(path):  # the worker opens it before its next run
            assert svc.stop(signal.SIGTERM, timeout=30) == 0
    assert "did not end within 0.2s; exiting anyway" in svc.log


def test_a_reload_that_fails_in_an_unforeseen_way_keeps_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No file reaches this today (every mistake in one is a ConfigError): this is the net
    under a bug in loading, so the failure is injected."""
    path = put_config(tmp_path / "c.yaml", make_config("http://127.0.0.1:9", tmp_path))
    service = Service(path, load_config(path), Metrics())
    before = service.config

    def broken(_path: Path) -> None:
        raise RuntimeError("a bug in loading")

    monkeypatch.setattr("cbsalert.reload.load_checked", broken)
    with caplog.at_level(logging.ERROR):
        assert service.reloader.reload("SIGHUP") is False
    assert service.config is before
    assert "config reload (SIGHUP) failed, keeping the previous config" in caplog.text
    assert "a bug in loading" in caplog.text
