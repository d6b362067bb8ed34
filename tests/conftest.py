"""Shared fixtures: every test gets its own directory, environment and loopback servers."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from tests.alertmanager_process import REQUIRED, Alertmanager, binary
from tests.browser import browser  # noqa: F401 - the fixture, one Chromium per session
from tests.hostile import HostileCbs

SYS_PASSWORD = "Sys-S3cret-pw!"

# Many tests start cbsalert in a process of its own (and pytest-xdist starts its workers):
# each one would compile every module again where PYTHONDONTWRITEBYTECODE is set (as on
# this machine). Bytecode is cached in __pycache__ (git-ignored) for them instead.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


_Sim = TypeVar("_Sim", bound=Simulator)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a fresh directory with no cbsalert or secret variables inherited, and leave
    the logging set-up as it was (CLI commands configure the root logger)."""
    monkeypatch.chdir(tmp_path)
    import logging
    import os

    for name in list(os.environ):
        if name.startswith(("CBSALERT_", "SLACK_", "SMTP_")) and name != "CBSALERT_TEST_PG_URL":
            monkeypatch.delenv(name)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Start simulated CBS servers from plain dicts; all are stopped after the test."""
    yield from _servers(Simulator)


def sim_data(data: dict[str, Any] | SimData) -> SimData:
    """A simulator world from a plain dict, with the tests' system password and day."""
    if isinstance(data, SimData):
        return data
    return SimData.model_validate({"system_password": SYS_PASSWORD, "today": "2026-11-23", **data})


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileCbs]]:
    """Start hostile CBS servers (tests/hostile.py) over a simulator world given as a dict;
    all are stopped after the test."""
    yield from _servers(HostileCbs)


def _servers(kind: type[_Sim]) -> Iterator[Callable[[dict[str, Any] | SimData], _Sim]]:
    started: list[_Sim] = []

    def start(data: dict[str, Any] | SimData) -> _Sim:
        server = kind(sim_data(data)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    """A real Alertmanager on loopback for the whole session (tests/alertmanager_process.py)."""
    program = binary()
    if program is None:
        if REQUIRED:
            pytest.fail(f"CBSALERT_TEST_ALERTMANAGER={REQUIRED} is not an executable")
        pytest.skip(
            "needs a real Alertmanager: /usr/bin/prometheus-alertmanager is missing "
            "(apt-get install prometheus-alertmanager)"
        )
    server = Alertmanager(program, tmp_path_factory.mktemp("alertmanager"))
    yield server
    server.stop()


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    """A local stand-in for Slack (webhook and Web API) on loopback."""
    with SlackSink() as sink:
        yield sink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A local SMTP server (aiosmtpd) on loopback."""
    with SmtpSink() as sink:
        yield sink


def config_dict(sim_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A small valid config pointing at a simulator; tests override what they need
    (``cbs=`` is merged into the defaults, any other key replaces its value)."""
    config: dict[str, Any] = {
        "cbs": {
            "url": sim_url,
            "sys_user": "system",
            "sys_password": SYS_PASSWORD,
            "timeout_s": 2,
            "retries": 1,
            "backoff_s": 0.01,
        },
        "timezone": "Europe/Amsterdam",
        "state": f"sqlite:///{tmp_path / 'state.db'}",
        "watch": [{"login": "obm"}],
        "rules": [{"id": "backup-failed", "kind": "backup_status"}],
        # The tests check fixed days (2026-11-22) with the real clock, and `check --date`
        # refuses days older than retention_days: keep those days checkable for years.
        "retention_days": 36500,
    }
    config["cbs"].update(overrides.pop("cbs", {}))
    config.update(overrides)
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path
