"""A real Alertmanager for the tests: Debian's ``prometheus-alertmanager``, on loopback.

Started once per test session (and xdist worker) by the ``alertmanager`` fixture: a minimal
config with one receiver that sends nothing, its storage in a temporary folder, clustering
off (``--cluster.listen-address=``), a free port on 127.0.0.1. Tests tell their alerts
apart by the ``server`` label (each simulator has its own port), so one server serves all.

Without the binary the tests that need it are skipped, saying so; where
``CBSALERT_TEST_ALERTMANAGER`` names the binary (``.ci/run`` sets it), a missing one fails
instead, so CI cannot pass without having run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

DEFAULT_BINARY = "/usr/bin/prometheus-alertmanager"
REQUIRED = os.environ.get("CBSALERT_TEST_ALERTMANAGER")  # read at import: tests clear CBSALERT_*
CONFIG = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'
READY_WITHIN_S = 30.0


def binary() -> str | None:
    """The Alertmanager to run: ``CBSALERT_TEST_ALERTMANAGER`` when set, else Debian's, else
    PATH's."""
    candidates = (
        [REQUIRED] if REQUIRED else [DEFAULT_BINARY, shutil.which("prometheus-alertmanager")]
    )
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Alertmanager:
    """One running Alertmanager process; ``url`` is its base URL."""

    def __init__(self, program: str, folder: Path) -> None:
        (folder / "alertmanager.yml").write_text(CONFIG)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = folder / "alertmanager.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [program, f"--config.file={folder / 'alertmanager.yml'}",
                 f"--storage.path={folder / 'data'}", "--cluster.listen-address=",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Alertmanager did not get ready: {self.log.read_text()[-2000:]}")

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        """The alerts it holds as firing (it lists no ended one) with these labels."""
        matchers = [f'{name}="{value}"' for name, value in labels.items()]
        answer = httpx.get(f"{self.url}/api/v2/alerts", params={"filter": matchers}, timeout=5)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
