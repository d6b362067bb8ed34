"""The CLI as a subprocess, for the tests where the process boundary is what is tested (a
kill, a signal, two processes at once, a resource limit)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def run_faulty(
    args: list[str], *, kill_at: str | None = None, file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """A CLI run with a fault injected by the test-only entry point cbsalert.devtools.faults:
    SIGKILLed at the named step ``kill_at``, or under a file-size limit (a full disk)."""
    options = [] if kill_at is None else ["--kill-at", kill_at]
    if file_size_limit is not None:
        options += ["--file-size-limit", str(file_size_limit)]
    command = [sys.executable, "-m", "cbsalert.devtools.faults", *options, "--", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=cli_env())


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
