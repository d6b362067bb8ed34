"""The README's quick start, as a new user runs it: `cbsalert simulate` and `cbsalert sinks`
by hand, the ready config under examples/, a dry run and a real run against them; and the
simulator's mistakes (a port in use, a wrong data file) as one readable error, exit 2."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from cbsalert.devtools.demo import demo_data
from cbsalert.devtools.simulator import Simulator
from tests.cli_invoke import invoke
from tests.cli_process import cli_env, wait_for

pytestmark = pytest.mark.slow  # starts processes, waits on real timeouts

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "cbsalert.yaml"
EXAMPLE_ENV = {"CBSALERT_SYS_PASSWORD": "demo-password",
               "SLACK_WEBHOOK_URL": "http://127.0.0.1:8081/services/T0/B0/local"}  # fmt: skip


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def example_config(tmp_path: Path, cbs_url: str, smtp_port: int = 2525) -> Path:
    """examples/cbsalert.yaml as shipped, pointed at the ports this test got."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "http://127.0.0.1:8080" in text and "smtp_port: 2525" in text
    text = text.replace("http://127.0.0.1:8080", cbs_url)
    text = text.replace("smtp_port: 2525", f"smtp_port: {smtp_port}")
    path = tmp_path / "cbsalert.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- simulate: mistakes ------------------------------------------------------------------------


def test_simulate_on_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(invoke("simulate", "--port", str(port)))
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--port" in line


def test_simulate_reports_a_wrong_data_file_with_file_and_line(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("users:\n  - login: obm\n    backup_sets: [\n")
    result = invoke("simulate", "--data", str(bad_yaml), "--port", "0")
    assert result.exit_code == 2 and f"{bad_yaml}:4: invalid YAML" in result.stderr

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("timezone: UTC\nusers:\n  - login: obm\n    jobs:\n      - {set: '1'}\n"
                     "  - logn: other\n")  # fmt: skip
    result = invoke("simulate", "--data", str(wrong), "--port", "0")
    assert result.exit_code == 2, result.output
    assert f"{wrong}:5: users[0].jobs[0]" in result.stderr  # `start` is missing
    assert f"{wrong}:6: users[1].logn: unknown key 'logn'" in result.stderr
    assert "Traceback" not in result.stderr

    missing = one_line_error(invoke("simulate", "--data", str(tmp_path / "nope.yaml")))
    assert "nope.yaml" in missing


def test_simulate_keeps_json_data_files_working(tmp_path: Path) -> None:
    data = tmp_path / "world.json"
    data.write_text('{"users": [{"login": "obm", "bogus": 1}]}')
    result = invoke("simulate", "--data", str(data), "--port", "0")
    assert result.exit_code == 2 and f"{data}:1: users[0].bogus: unknown key" in result.stderr


# -- the example config ------------------------------------------------------------------------


def test_the_example_config_validates_and_dry_runs_against_the_simulated_cbs(
    tmp_path: Path,
) -> None:
    assert invoke("validate", "-c", str(EXAMPLE), env=EXAMPLE_ENV).exit_code == 0
    with Simulator(demo_data()) as sim:
        path = example_config(tmp_path, sim.url)
        result = invoke("check", "-c", str(path), "--dry-run", env=EXAMPLE_ENV)
    assert result.exit_code == 0, result.output
    for expected in ("BS_STOP_BY_SYSTEM_ERROR", "RESTORE_STOP_BY_ERROR", "checked 6/6 users"):
        assert expected in result.stdout
    assert not list(tmp_path.glob("*.db"))


# -- the quick start, as processes -------------------------------------------------------------


def _ctrl_c_stops() -> None:
    """SIGINT as a terminal's Ctrl-C finds it. A shell ignores SIGINT for what it starts in
    the background (`pytest ... &`), the ignoring is inherited, and a Python process that
    starts with SIGINT ignored never raises KeyboardInterrupt: ``stop`` would wait in vain."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Process:
    """A CLI process whose stdout is collected line by line as it arrives."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cbsalert", *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=cli_env(), preexec_fn=_ctrl_c_stops,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            match = re.search(pattern, self.output)
            if match:
                found.append(match)
            return bool(match) or self.proc.poll() is not None

        wait_for(seen, timeout=30, what=pattern)
        assert found, f"exited {self.proc.returncode}: {self.output} {self.stderr()}"
        return found[0]

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        return code


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def test_the_quick_start_from_nothing_to_messages_on_the_stand_ins(
    tmp_path: Path, processes: list[Process]
) -> None:
    simulate = Process("simulate", "--port", "0")  # the bundled sample world
    sinks = Process("sinks", "--slack-port", "0", "--smtp-port", "0")
    processes += [simulate, sinks]
    cbs_url = simulate.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
    webhook = sinks.wait_for(r"SLACK_WEBHOOK_URL=(\S+)").group(1)
    smtp_port = int(sinks.wait_for(r"smtp://127\.0\.0\.1:(\d+)").group(1))

    path = example_config(tmp_path, cbs_url, smtp_port)
    env = {**EXAMPLE_ENV, "SLACK_WEBHOOK_URL": webhook}
    real = invoke("check", "-c", str(path), env=env)
    assert real.exit_code == 0, real.output
    assert "deliveries: 2 sent, 0 failed" in real.stdout

    sinks.wait_for(r"Slack message")
    sinks.wait_for(r"Subject: .* · backups of ")
    assert "BS_STOP_BY_SYSTEM_ERROR" in sinks.output
    assert sinks.stop() == 0
    assert simulate.stop() == 0


def test_the_readme_quick_start_uses_the_shipped_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    for command in ("cbsalert simulate", "cbsalert sinks", "examples/cbsalert.yaml",
                    "--dry-run", "CBSALERT_SYS_PASSWORD=demo-password"):  # fmt: skip
        assert command in section
